package connector

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// FuzzConnectorEnvelope drives the connector's envelope check (with its
// cache of verified envelopes) as a request stream does: first the valid
// envelope of a session, so it is cached, then the fuzzer's bytes, and the
// valid envelope with byte pos changed by mask. Only the valid envelope
// may open; neither arbitrary bytes nor a changed copy of a cached
// envelope ever does, and nothing panics.
func FuzzConnectorEnvelope(f *testing.F) {
	gw := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x6a}, ed25519.SeedSize))
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	good, err := tunnel.SignEnvelope(gw, tunnel.Envelope{App: "hr", Session: "s1", IssuedAt: now, Expires: now.Add(time.Hour),
		Identity: sdk.Identity{Subject: "alice", Groups: []string{"staff"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte, pos uint16, mask byte) {
		c := &envelopes{key: gw.Public().(ed25519.PublicKey)}
		if e, _, err := c.open(good, "hr", now); err != nil || e.Identity.Subject != "alice" {
			t.Fatalf("the valid envelope did not open: %+v, %v", e, err)
		}
		if !bytes.Equal(b, good) {
			if e, _, err := c.open(b, "hr", now); err == nil {
				t.Fatalf("the connector took an envelope the gateway did not sign: %+v", e)
			}
		}
		changed := bytes.Clone(good)
		changed[int(pos)%len(changed)] ^= mask
		e, _, err := c.open(changed, "hr", now)
		if mask != 0 && err == nil {
			t.Fatalf("an envelope with byte %d changed (^%#x) opened: %+v", int(pos)%len(changed), mask, e)
		}
		if _, _, err := c.open(good, "payroll", now); err == nil {
			t.Fatal("the envelope for hr opened for payroll")
		}
	})
}
