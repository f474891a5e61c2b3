package device

import (
	"crypto/sha256"
	"crypto/x509"
	"time"
)

// A request to a device app would cost a signature check of the chain
// (about 0.1 ms); the certificate of a connection does not change between
// its requests. A verdict is kept for the chain's bytes while the CRL
// state that allowed it is the one in force, and the time is within every
// certificate's validity and before the CRL's next update.

// verdict is one chain verified.
type verdict struct {
	dev         *Device
	from, until time.Time
	gen         uint64
}

// maxCached bounds the cache; when full it starts again empty.
const maxCached = 4096

func chainKey(chain []*x509.Certificate) [32]byte {
	h := sha256.New()
	for _, c := range chain {
		h.Write(c.Raw)
		h.Write([]byte{0})
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// cached returns the device of a chain verified lately, if its verdict
// still holds at now (the CRL file is looked at first).
func (v *Verifier) cached(key [32]byte, now time.Time) (*Device, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.o.CRLFile != "" {
		v.refresh(now)
		if v.crlErr != nil {
			return nil, false
		}
	}
	e, ok := v.cache[key]
	if !ok || e.gen != v.gen || now.Before(e.from) || !now.Before(e.until) {
		return nil, false
	}
	return e.dev, true
}

// remember keeps the verdict on a verified chain, valid until the first
// certificate of the chain expires or the CRL's next update (next; zero
// for none), for the CRL state gen.
func (v *Verifier) remember(key [32]byte, d *Device, chain []*x509.Certificate, next time.Time, gen uint64) {
	e := verdict{dev: d, until: chain[0].NotAfter, gen: gen}
	for _, c := range chain {
		if c.NotBefore.After(e.from) {
			e.from = c.NotBefore
		}
		if c.NotAfter.Before(e.until) {
			e.until = c.NotAfter
		}
	}
	if !next.IsZero() && next.Before(e.until) {
		e.until = next
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil || len(v.cache) >= maxCached {
		v.cache = map[[32]byte]verdict{}
	}
	v.cache[key] = e
}
