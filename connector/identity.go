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
// envelope is cached by its exact bytes, with its hash (which names the
// session in the reuse cache) worked out once: later requests of that
// session cost a map lookup instead of an Ed25519 verification and a
// SHA-256. Bytes not verified never go in, so a changed envelope misses
// and is verified (and refused) as before. App and expiry are checked on
// every use.
type envelopes struct {
	key   ed25519.PublicKey
	mu    sync.RWMutex
	m     map[string]verifiedEnvelope // keyed by the signed bytes
	bytes int
}

// verifiedEnvelope is a cached envelope and the SHA-256 of its bytes.
type verifiedEnvelope struct {
	e   tunnel.Envelope
	sum [sha256.Size]byte
}

// Bounds of the cache: entries, and bytes of envelopes held (each counts
// twice: its signed bytes and what they decode to). Past either, expired
// entries go, and if that is not enough, everything does.
const (
	maxEnvelopes     = 10000
	maxEnvelopeBytes = 32 << 20
)

// open returns the identity in b if the gateway signed it for app and it
// has not expired at now, with b's hash (which names the session).
func (c *envelopes) open(b []byte, app string, now time.Time) (tunnel.Envelope, [sha256.Size]byte, error) {
	c.mu.RLock()
	v, ok := c.m[string(b)] // no copy: a lookup
	c.mu.RUnlock()
	if !ok {
		v.sum = sha256.Sum256(b)
		var err error
		if v.e, err = tunnel.VerifyEnvelope(c.key, b); err != nil {
			return tunnel.Envelope{}, v.sum, err
		}
		c.add(string(b), v, now)
	}
	return v.e, v.sum, v.e.Check(app, now)
}

func (c *envelopes) add(b string, v verifiedEnvelope, now time.Time) {
	size := envelopeSize(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[b]; ok {
		return
	}
	if c.m == nil {
		c.m = map[string]verifiedEnvelope{}
	}
	if len(c.m) >= maxEnvelopes || c.bytes+size > maxEnvelopeBytes {
		for k, old := range c.m {
			if !now.Before(old.e.Expires) {
				delete(c.m, k)
				c.bytes -= envelopeSize(k)
			}
		}
		if len(c.m) >= maxEnvelopes || c.bytes+size > maxEnvelopeBytes {
			clear(c.m)
			c.bytes = 0
		}
	}
	c.m[b] = v
	c.bytes += size
}

// envelopeSize is about what a cached envelope holds in memory.
func envelopeSize(b string) int { return 256 + 2*len(b) }
