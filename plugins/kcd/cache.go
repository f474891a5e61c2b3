package kcd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/plugins/kcd/internal/s4u"
	"golang.org/x/sync/singleflight"
)

// ticketKey is what a delegated ticket is for: one user, one SPN. A ticket
// is never handed out under another key.
type ticketKey struct {
	user s4u.User
	spn  string
}

// flightKey is k as a string for singleflight; names never hold NUL.
func (k ticketKey) flightKey() string {
	return fmt.Sprintf("%t\x00%s\x00%s", k.user.Enterprise, k.user.Name, k.spn)
}

// fetchFunc gets a new ticket for a key from the KDC.
type fetchFunc func(ctx context.Context, k ticketKey) (*s4u.Ticket, error)

// ticketCache keeps delegated tickets per (user, SPN) until they expire,
// and makes concurrent misses for one key share one KDC exchange.
type ticketCache struct {
	fetch   fetchFunc
	now     func() time.Time
	timeout time.Duration // bounds a fetch, whoever waits for it
	max     int

	mu     sync.Mutex
	m      map[ticketKey]*s4u.Ticket
	flight singleflight.Group
}

func newTicketCache(fetch fetchFunc, now func() time.Time, timeout time.Duration, max int) *ticketCache {
	return &ticketCache{fetch: fetch, now: now, timeout: timeout, max: max, m: map[ticketKey]*s4u.Ticket{}}
}

// get returns a ticket for k that is valid now: the cached one, or a new
// one from the KDC. Past its RefreshAt, a cached ticket is still returned
// while a new one is fetched in the background; if the KDC then refuses
// outright, the old ticket is dropped.
func (c *ticketCache) get(ctx context.Context, k ticketKey) (*s4u.Ticket, error) {
	now := c.now()
	c.mu.Lock()
	t := c.m[k]
	c.mu.Unlock()
	if t != nil && now.Before(t.RefreshAt) {
		return t, nil
	}
	ch := c.flight.DoChan(k.flightKey(), func() (any, error) {
		// The fetch outlives a caller that gives up: the next one for this
		// key will want it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		nt, err := c.fetch(ctx, k)
		if err != nil {
			if s4u.Refused(err) {
				// The KDC now refuses this user or SPN (delegation
				// revoked, account disabled): stop using its old ticket.
				c.drop(k)
			}
			return nil, err
		}
		c.put(k, nt)
		return nt, nil
	})
	if t != nil && now.Before(t.Expires) {
		return t, nil
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*s4u.Ticket), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the KDC: %w", context.Cause(ctx))
	}
}

// put stores t under k. A full cache first drops expired tickets, then, if
// still full, any one ticket.
func (c *ticketCache) put(k ticketKey, t *s4u.Ticket) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, old := range c.m {
			if !now.Before(old.Expires) {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = t
}

// drop forgets the ticket for k.
func (c *ticketCache) drop(k ticketKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// len is the number of cached tickets.
func (c *ticketCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// purge forgets every ticket.
func (c *ticketCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
