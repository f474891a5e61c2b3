package tunnel

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// fuzzGateway is the gateway key the envelope fuzz targets verify with:
// fixed, so a seed signed with it stays valid. No seed is signed with it
// except by FuzzEnvelopeFlip, which builds its envelope itself.
var fuzzGateway = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x6a}, ed25519.SeedSize))

// fuzzEnvelope is a typical envelope signed with fuzzGateway.
func fuzzEnvelope(tb testing.TB) (Envelope, []byte) {
	tb.Helper()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	e := Envelope{App: "hr", Session: "s1", IssuedAt: now, Expires: now.Add(time.Hour),
		Identity: sdk.Identity{Subject: "alice", UPN: "alice@CORP", Groups: []string{"staff", "hr"},
			Claims: map[string]any{"amr": []any{"pwd", "mfa"}}}}
	b, err := SignEnvelope(fuzzGateway, e)
	if err != nil {
		tb.Fatal(err)
	}
	return e, b
}

// FuzzEnvelope feeds arbitrary bytes as an identity envelope. ReadEnvelope
// (the gateway reading its own envelope back) must never panic, and
// nothing but an envelope the gateway signed may verify: the fuzzer does
// not have the key, so VerifyEnvelope and OpenEnvelope must refuse every
// input, with an error and a zero Envelope.
func FuzzEnvelope(f *testing.F) {
	pub := fuzzGateway.Public().(ed25519.PublicKey)
	now := time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ReadEnvelope(b)
		if e, err := VerifyEnvelope(pub, b); err == nil || e.Identity.Subject != "" || e.App != "" {
			t.Fatalf("VerifyEnvelope took bytes the gateway did not sign: %+v, %v", e, err)
		}
		if e, err := OpenEnvelope(pub, b, "hr", now); err == nil || e.Identity.Subject != "" {
			t.Fatalf("OpenEnvelope took bytes the gateway did not sign: %+v, %v", e, err)
		}
	})
}

// FuzzEnvelopeFlip changes one byte of a valid envelope (mask is XORed
// into byte pos modulo its length). Unchanged, it verifies and reads back
// as signed; with any byte changed it never verifies.
func FuzzEnvelopeFlip(f *testing.F) {
	pub := fuzzGateway.Public().(ed25519.PublicKey)
	want, good := fuzzEnvelope(f)
	wantJSON, _ := json.Marshal(want)
	now := want.IssuedAt.Add(time.Minute)
	f.Fuzz(func(t *testing.T, pos uint16, mask byte) {
		b := bytes.Clone(good)
		b[int(pos)%len(b)] ^= mask
		e, err := OpenEnvelope(pub, b, "hr", now)
		if mask != 0 {
			if err == nil {
				t.Fatalf("an envelope with byte %d changed (^%#x) verified: %+v", int(pos)%len(b), mask, e)
			}
			return
		}
		if err != nil {
			t.Fatalf("the valid envelope did not open: %v", err)
		}
		read, err := ReadEnvelope(b)
		got, _ := json.Marshal(e)
		gotRead, _ := json.Marshal(read)
		if err != nil || !bytes.Equal(got, wantJSON) || !bytes.Equal(gotRead, wantJSON) {
			t.Fatalf("envelope read back as %s and %s (%v), want %s", got, gotRead, err, wantJSON)
		}
	})
}
