package kcd

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/kcd/internal/s4u"
	"github.com/gatehouse/gatehouse/sdk"
)

// Benchmarks against the lab's KDC and Apache (they skip without it):
//
//	go test ./plugins/kcd -run '^$' -bench . -benchtime 2s

func benchInjector(b *testing.B) *injector {
	in, err := newInjector(sdk.ConfigureRequest{App: "intranet", Config: mustJSON(b, labConfig(b))}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return in
}

var benchAlice = sdk.InjectRequest{Identity: sdk.Identity{Subject: "alice", UPN: "alice@example.test"},
	Method: "GET", URL: "http://backend.example.test/", Header: http.Header{"Accept": {"text/html"}}}

// Inject in process with alice's ticket cached: a fresh authenticator and
// SPNEGO token per call, no KDC.
func BenchmarkInjectCached(b *testing.B) {
	in := benchInjector(b)
	ctx := context.Background()
	if _, err := in.Inject(ctx, benchAlice); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.Inject(ctx, benchAlice); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInjectCached from every P at once: one cached ticket, shared,
// makes every token (its cached parts are read-only after the first).
func BenchmarkInjectCachedParallel(b *testing.B) {
	in := benchInjector(b)
	ctx := context.Background()
	if _, err := in.Inject(ctx, benchAlice); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := in.Inject(ctx, benchAlice); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Inject in process for a (user, SPN) pair not cached: S4U2Self and
// S4U2Proxy with the KDC (the connector's TGT is cached), then the token.
func BenchmarkInjectUncached(b *testing.B) {
	in := benchInjector(b)
	ctx := context.Background()
	if _, err := in.Inject(ctx, benchAlice); err != nil { // the TGT
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		in.cache.purge()
		if _, err := in.Inject(ctx, benchAlice); err != nil {
			b.Fatal(err)
		}
	}
}

// A connector that starts cold: the AS exchange for its TGT, then
// S4U2Self and S4U2Proxy.
func BenchmarkDelegateWithNewTGT(b *testing.B) {
	s, err := decode(sdk.ConfigureRequest{Config: mustJSON(b, labConfig(b))})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		c, err := s4u.New(s.client)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Delegate(ctx, s4u.User{Name: "alice"}, s.spn); err != nil {
			b.Fatal(err)
		}
	}
}

// Inject through the plug-in process (gRPC, mutual TLS) with the ticket
// cached: what the connector pays per request.
func BenchmarkInjectCachedOverWire(b *testing.B) {
	inj, err := open(b, labConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := inj.Inject(ctx, benchAlice); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inj.Inject(ctx, benchAlice); err != nil {
			b.Fatal(err)
		}
	}
}

// One request to Apache on a new connection: signed on with kcd (Inject
// over the wire, ticket cached; mod_auth_gssapi checks the ticket), and a
// public page without sign-on for comparison.
func BenchmarkBackendRequest(b *testing.B) {
	l := needLab(b)
	inj, err := open(b, labConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("kcd", func(b *testing.B) {
		for b.Loop() {
			res, err := inj.Inject(ctx, benchAlice)
			if err != nil {
				b.Fatal(err)
			}
			h := http.Header{}
			res.Apply(h)
			if code, body, err := l.Get(ctx, h); err != nil || code != http.StatusOK {
				b.Fatalf("HTTP %d %v %s", code, err, body)
			}
		}
	})
	b.Run("no-sign-on", func(b *testing.B) {
		for b.Loop() {
			if code, body, err := l.GetPath(ctx, "/index.html", nil); err != nil || code != http.StatusOK {
				b.Fatalf("HTTP %d %v %s", code, err, body)
			}
		}
	})
}
