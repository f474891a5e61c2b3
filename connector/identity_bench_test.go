package connector

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// BenchmarkEnvelopeOpenCached is the connector's per-request cost of a
// signed-in session's envelope once it has been verified.
func BenchmarkEnvelopeOpenCached(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	env, err := tunnel.SignEnvelope(priv, tunnel.Envelope{App: "hr", Session: "sid-1", IssuedAt: now, Expires: now.Add(time.Hour),
		Identity: sdk.Identity{Subject: "bench", Groups: []string{"staff"}, Claims: map[string]any{"iat": float64(now.Unix())}}})
	if err != nil {
		b.Fatal(err)
	}
	c := &envelopes{key: pub}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.open(env, "hr", now); err != nil {
			b.Fatal(err)
		}
	}
}
