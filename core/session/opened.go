package session

import (
	"sync"
	"time"
)

// opened caches the sessions a Sealer has opened, keyed by the exact
// sealed value (and the app and host it was sealed for), so a signed-in
// user's later requests cost a map lookup, not a base64 decode and an
// AES-GCM open. Only values that opened go in: a changed value is another
// key, which misses and is opened (and refused) as before. A session is
// immutable, and its expiry is checked on every use; revocation is not
// this cache's business (the caller checks it per request). The cache is
// the Sealer's, so another key never finds it. See
// docs/rationale/sessions.md.
type opened struct {
	mu    sync.RWMutex
	m     map[openedKey]Session
	bytes int
}

type openedKey struct{ app, host, value string }

// Bounds: entries, and bytes of sealed values and envelopes held. Past
// either, expired sessions go, and if that is not enough, all of them
// (they open again on their next request).
const (
	maxOpened      = 10000
	maxOpenedBytes = 16 << 20
)

func (c *opened) get(k openedKey) (Session, bool) {
	c.mu.RLock()
	s, ok := c.m[k]
	c.mu.RUnlock()
	return s, ok
}

func (c *opened) add(k openedKey, s Session, now time.Time) {
	size := openedSize(k, s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	if c.m == nil {
		c.m = map[openedKey]Session{}
	}
	if len(c.m) >= maxOpened || c.bytes+size > maxOpenedBytes {
		for old, s := range c.m {
			if !now.Before(s.Expires) {
				c.drop(old, s)
			}
		}
		if len(c.m) >= maxOpened || c.bytes+size > maxOpenedBytes {
			clear(c.m)
			c.bytes = 0
		}
	}
	c.m[k] = s
	c.bytes += size
}

// remove forgets k (an expired session).
func (c *opened) remove(k openedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[k]; ok {
		c.drop(k, s)
	}
}

func (c *opened) drop(k openedKey, s Session) {
	delete(c.m, k)
	c.bytes -= openedSize(k, s)
}

// openedSize is about what an entry holds in memory.
func openedSize(k openedKey, s Session) int {
	return 128 + len(k.app) + len(k.host) + len(k.value) + len(s.ID) + len(s.Envelope)
}
