package vault

import (
	"context"
	"fmt"
	"net/http/cookiejar"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// A session is one user's sign-in at the backend, or the backend's refusal
// of that user's credentials. It holds cookies, never credentials.
type session struct {
	secret  [32]byte        // SHA-256 of the sealed credentials it was made with
	refused bool            // the backend refused them: ask the user for new ones
	jar     *cookiejar.Jar  // the backend's cookies; nil when refused
	names   map[string]bool // the names of the cookies the login set
	expires time.Time
}

// sessions keeps one session per user (subject) of one app, until it
// expires or the user's sealed credentials change, at most max of them.
// Concurrent misses for one user and secret share one login.
type sessions struct {
	now     func() time.Time
	timeout time.Duration // bounds a login, whoever waits for it
	max     int

	mu     sync.Mutex
	m      map[string]*session
	flight singleflight.Group
}

func newSessions(now func() time.Time, timeout time.Duration, max int) *sessions {
	return &sessions{now: now, timeout: timeout, max: max, m: map[string]*session{}}
}

// get returns subject's session for the sealed credentials whose hash is
// secret: the cached one, or a new one from login. A session made with
// other credentials (the user replaced them) is never returned.
func (c *sessions) get(ctx context.Context, subject string, secret [32]byte, login func(ctx context.Context) (*session, error)) (*session, error) {
	c.mu.Lock()
	s := c.m[subject]
	c.mu.Unlock()
	if s != nil && s.secret == secret && c.now().Before(s.expires) {
		return s, nil
	}
	ch := c.flight.DoChan(string(secret[:])+subject, func() (any, error) {
		// The login outlives a caller that gives up: the next request of
		// the same user will want it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		ns, err := login(ctx)
		if err != nil {
			return nil, err
		}
		ns.secret = secret
		c.put(subject, ns)
		return ns, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*session), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the backend's login: %w", context.Cause(ctx))
	}
}

// put stores s as subject's session, replacing any other. A full cache
// first drops expired sessions, then the one that would expire first.
func (c *sessions) put(subject string, s *session) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[subject]; !ok && len(c.m) >= c.max {
		var (
			first    string
			firstExp time.Time
		)
		for sub, old := range c.m {
			switch {
			case !now.Before(old.expires):
				delete(c.m, sub)
			case firstExp.IsZero() || old.expires.Before(firstExp):
				first, firstExp = sub, old.expires
			}
		}
		if len(c.m) >= c.max {
			delete(c.m, first)
		}
	}
	c.m[subject] = s
}

// len is the number of sessions kept.
func (c *sessions) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
