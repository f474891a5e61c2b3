package saml

import (
	"sync"
	"time"

	crewjam "github.com/crewjam/saml"
)

// maxReplayEntries bounds the replay cache: far more sign-ins than one
// app sees within an assertion's lifetime.
const maxReplayEntries = 100_000

// replayCache remembers, in this process, the ids of the assertions and
// AuthnRequests it has accepted until they could no longer be accepted
// anyway. It is a second line: what makes a response single-use is the
// gateway clearing the state cookie that holds the request id. The cache
// catches a replay that comes with a copy of that cookie, on the node
// (and plug-in process) that took the original. It is safe for
// concurrent use.
type replayCache struct {
	max int

	mu      sync.Mutex
	expires map[string]time.Time
	now     func() time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, expires: make(map[string]time.Time), now: time.Now}
}

var _ crewjam.AssertionReplayCache = (*replayCache)(nil)

// Consume records id until expiresAt, or reports crewjam.ErrAssertionReplayed
// if it is recorded already. When the cache is full, the entry that
// expires first makes room.
func (c *replayCache) Consume(id string, expiresAt time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if exp, ok := c.expires[id]; ok && now.Before(exp) {
		return crewjam.ErrAssertionReplayed
	}
	if len(c.expires) >= c.max {
		c.prune(now)
	}
	c.expires[id] = expiresAt
	return nil
}

// prune drops the expired entries, and if none has, the one that expires
// first.
func (c *replayCache) prune(now time.Time) {
	var soonest string
	var soonestAt time.Time
	for id, exp := range c.expires {
		if !now.Before(exp) {
			delete(c.expires, id)
			continue
		}
		if soonest == "" || exp.Before(soonestAt) {
			soonest, soonestAt = id, exp
		}
	}
	if len(c.expires) >= c.max && soonest != "" {
		delete(c.expires, soonest)
	}
}
