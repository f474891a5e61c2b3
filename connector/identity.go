package connector

import (
	"crypto/ed25519"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// envelopes checks identity envelopes against the gateway key pinned at
// enrollment. The gateway signs one envelope per session, so a verified
// envelope is cached by its hash: later requests of that session cost a
// SHA-256 instead of an Ed25519 verification. App and expiry are checked
// on every use.
type envelopes struct {
	key ed25519.PublicKey
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]tunnel.Envelope
}

// maxEnvelopes bounds the cache; past it, expired entries go, and if that
// is not enough, everything does.
const maxEnvelopes = 10000

// open returns the identity in b if the gateway signed it for app and it
// has not expired at now, with b's hash (which names the session).
func (c *envelopes) open(b []byte, app string, now time.Time) (tunnel.Envelope, [sha256.Size]byte, error) {
	sum := sha256.Sum256(b)
	c.mu.RLock()
	e, ok := c.m[sum]
	c.mu.RUnlock()
	if !ok {
		var err error
		if e, err = tunnel.VerifyEnvelope(c.key, b); err != nil {
			return tunnel.Envelope{}, sum, err
		}
		c.add(sum, e, now)
	}
	return e, sum, e.Check(app, now)
}

func (c *envelopes) add(sum [sha256.Size]byte, e tunnel.Envelope, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[sha256.Size]byte]tunnel.Envelope{}
	}
	if len(c.m) >= maxEnvelopes {
		for k, old := range c.m {
			if !now.Before(old.Expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxEnvelopes {
			clear(c.m)
		}
	}
	c.m[sum] = e
}
