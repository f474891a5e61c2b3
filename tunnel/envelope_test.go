package tunnel

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

func TestEnvelope(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, otherPriv, _ := ed25519.GenerateKey(nil)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	e := Envelope{App: "hr", Session: "s1", IssuedAt: now, Expires: now.Add(time.Hour),
		Identity: sdk.Identity{Subject: "alice", UPN: "alice@CORP", Groups: []string{"staff"}}}
	good, err := SignEnvelope(priv, e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenEnvelope(pub, good, "hr", now.Add(time.Minute))
	if err != nil || got.Identity.Subject != "alice" || got.Identity.Groups[0] != "staff" || got.Session != "s1" {
		t.Fatalf("OpenEnvelope = %+v, %v", got, err)
	}

	flipped := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 1
		return b
	}
	// Change "alice" to "alicf" inside the signed payload.
	renamed := []byte(strings.Replace(string(good), `"sub":"alice"`, `"sub":"alicf"`, 1))
	foreign, _ := SignEnvelope(otherPriv, e)
	tests := []struct {
		name   string
		pub    ed25519.PublicKey
		b      []byte
		app    string
		at     time.Time
		wantIs error
		want   string
	}{
		{"identity changed", pub, renamed, "hr", now, ErrEnvelopeSignature, ""},
		{"signature byte flipped", pub, flipped(len(good) - 1), "hr", now, ErrEnvelopeSignature, ""},
		{"payload byte flipped", pub, flipped(10), "hr", now, nil, ""},
		{"signed by another gateway", pub, foreign, "hr", now, ErrEnvelopeSignature, ""},
		{"checked with another key", otherPub, good, "hr", now, ErrEnvelopeSignature, ""},
		{"other app", pub, good, "payroll", now, ErrEnvelopeApp, ""},
		{"expired", pub, good, "hr", now.Add(time.Hour), ErrEnvelopeExpired, ""},
		{"empty", pub, nil, "hr", now, nil, "not a signed envelope"},
		{"short", pub, good[:40], "hr", now, nil, "not a signed envelope"},
		{"unknown version", pub, append([]byte{9}, good[1:]...), "hr", now, nil, "version 9"},
		{"no key", nil, good, "hr", now, ErrEnvelopeSignature, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpenEnvelope(tt.pub, tt.b, tt.app, tt.at)
			if err == nil {
				t.Fatalf("OpenEnvelope = %+v, want an error", got)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want %v", err, tt.wantIs)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSignEnvelopeRefusesIncomplete(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	exp := time.Now().Add(time.Hour)
	for _, e := range []Envelope{
		{Identity: sdk.Identity{Subject: "a"}, Expires: exp},
		{App: "hr", Expires: exp},
		{App: "hr", Identity: sdk.Identity{Subject: "a"}},
		{App: "hr", Expires: exp, Identity: sdk.Identity{Subject: "a", Groups: []string{strings.Repeat("g", MaxEnvelope)}}},
	} {
		if b, err := SignEnvelope(priv, e); err == nil {
			t.Errorf("SignEnvelope(%.60v) = %d bytes, want an error", e, len(b))
		}
	}
}

func BenchmarkEnvelopeVerify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	env, _ := SignEnvelope(priv, Envelope{App: "hr", Expires: time.Now().Add(time.Hour),
		Identity: sdk.Identity{Subject: "alice", UPN: "alice@CORP", Groups: []string{"staff", "hr"}}})
	for b.Loop() {
		if _, err := VerifyEnvelope(pub, env); err != nil {
			b.Fatal(err)
		}
	}
}
