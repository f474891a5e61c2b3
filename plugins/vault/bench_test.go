package vault

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
	sealed "github.com/gatehouse/gatehouse/sdk/vault"
)

// BenchmarkInjectBasic is one Inject in mode basic over the real protocol:
// the sealed credentials are opened on every call (nothing is cached in
// plaintext).
func BenchmarkInjectBasic(b *testing.B) {
	k := newKey(b)
	inj := mustOpen(b, basicConfig(k), nil)
	req := sdk.InjectRequest{Identity: sdk.Identity{Subject: "00u1"}, Method: "GET", URL: "http://app.internal/",
		Header: http.Header{"User-Agent": {"Mozilla/5.0"}}, Secret: k.seal(b, "hr", "00u1", "alice", "pw")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := inj.Inject(ctx, req); err != nil || res.AskCredentials {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkInjectFormCached is one Inject in mode form with the user's
// backend session cached: no login, no opening.
func BenchmarkInjectFormCached(b *testing.B) {
	be, k := newFormBackend(b), newKey(b)
	inj := mustOpen(b, be.config(k), nil)
	req := sdk.InjectRequest{Identity: sdk.Identity{Subject: "00u1"}, Method: "GET", URL: "http://app.internal/",
		Header: http.Header{"Cookie": {"theme=dark"}}, Secret: k.seal(b, "hr", "00u1", "alice", be.users["alice"])}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res, err := inj.Inject(ctx, req); err != nil || res.AskCredentials {
			b.Fatal(res, err)
		}
	}
	if n := be.logins.Load(); n != 1 {
		b.Errorf("%d logins, want 1", n)
	}
}

// BenchmarkOpen is the cost of opening sealed credentials in process.
func BenchmarkOpen(b *testing.B) {
	k := newKey(b)
	s, err := decode(sdk.ConfigureRequest{App: "hr", Config: mustJSON(b, basicConfig(k))})
	if err != nil {
		b.Fatal(err)
	}
	secret := k.seal(b, "hr", "00u1", "alice", "pw")
	for b.Loop() {
		if _, err := sealed.Open(s.key, "hr", "00u1", secret); err != nil {
			b.Fatal(err)
		}
	}
}
