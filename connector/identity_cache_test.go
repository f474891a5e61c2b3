package connector

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

func signTestEnvelope(t *testing.T, key ed25519.PrivateKey, sid string, now, exp time.Time) []byte {
	t.Helper()
	b, err := tunnel.SignEnvelope(key, tunnel.Envelope{App: "hr", Session: sid, IssuedAt: now, Expires: exp,
		Identity: sdk.Identity{Subject: "alice", Groups: []string{"staff"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A verified envelope is served from the cache by its exact bytes, with
// the hash of those bytes; a hit verifies nothing (here: the key is gone,
// and the cached envelope still opens).
func TestEnvelopeCacheHit(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	good := signTestEnvelope(t, priv, "s1", now, now.Add(time.Hour))
	c := &envelopes{key: pub}
	e, sum, err := c.open(good, "hr", now)
	if err != nil || e.Identity.Subject != "alice" || sum != sha256.Sum256(good) {
		t.Fatalf("first open: %+v, %x, %v", e, sum, err)
	}
	c.key = nil // a verification would now fail
	e, sum, err = c.open(bytes.Clone(good), "hr", now.Add(time.Minute))
	if err != nil || e.Identity.Subject != "alice" || sum != sha256.Sum256(good) || len(c.m) != 1 {
		t.Fatalf("second open was not a cache hit: %+v, %x, %v (%d cached)", e, sum, err, len(c.m))
	}
}

// With an envelope cached, a changed copy, the envelope for another app
// and the envelope past its expiry are all refused: the cache fails
// closed, and keeps nothing it did not verify.
func TestEnvelopeCacheFailsClosed(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	good := signTestEnvelope(t, priv, "s1", now, now.Add(time.Hour))
	c := &envelopes{key: pub}
	if _, _, err := c.open(good, "hr", now); err != nil {
		t.Fatal(err)
	}
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x20
		if e, _, err := c.open(b, "hr", now); err == nil {
			t.Fatalf("envelope with byte %d changed opened: %+v", i, e)
		}
	}
	if len(c.m) != 1 {
		t.Fatalf("%d envelopes cached, want only the verified one", len(c.m))
	}
	if _, _, err := c.open(good, "payroll", now); !errors.Is(err, tunnel.ErrEnvelopeApp) {
		t.Fatalf("cached envelope for another app: %v", err)
	}
	if _, _, err := c.open(good, "hr", now.Add(time.Hour)); !errors.Is(err, tunnel.ErrEnvelopeExpired) {
		t.Fatalf("cached envelope at its expiry: %v", err)
	}
}

// The cache stays within its bounds, dropping expired envelopes first.
func TestEnvelopeCacheBounded(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	c := &envelopes{key: pub}
	short := signTestEnvelope(t, priv, "short", now, now.Add(time.Minute))
	long := signTestEnvelope(t, priv, "long", now, now.Add(time.Hour))
	// Fill with verified entries without signing 10,000 envelopes: what a
	// verification would have added.
	v, err := tunnel.VerifyEnvelope(pub, short)
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxEnvelopes - 1 {
		c.add(fmt.Sprint(string(short), i), verifiedEnvelope{e: v}, now)
	}
	if _, _, err := c.open(long, "hr", now); err != nil {
		t.Fatal(err)
	}
	if len(c.m) != maxEnvelopes {
		t.Fatalf("%d cached, want %d", len(c.m), maxEnvelopes)
	}
	later := now.Add(2 * time.Minute)
	if _, _, err := c.open(signTestEnvelope(t, priv, "new", now, now.Add(time.Hour)), "hr", later); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.m[string(long)]; !ok || len(c.m) != 2 {
		t.Fatalf("%d cached after the bound (live one kept: %v), want the 2 live envelopes", len(c.m), ok)
	}
	want := 0
	for k := range c.m {
		want += envelopeSize(k)
	}
	if c.bytes != want || want > maxEnvelopeBytes {
		t.Fatalf("bytes = %d, want %d (bound %d)", c.bytes, want, maxEnvelopeBytes)
	}
}
