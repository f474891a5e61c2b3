package kcd

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// Asked for spares over the real protocol, the plug-in returns that many
// more tokens from the same ticket, for 60 s, with ForgetOn 401; Apache
// (with its replay cache) accepts the main token and every spare once,
// and refuses a spare sent a second time, so the tokens are one-time
// indeed. The host's limit holds (at most sdk.MaxSpares), none is made
// unasked, and none when the ticket ends within sparesFor.
func TestSparesAcceptedOnce(t *testing.T) {
	l := needLab(t)
	inj, err := open(t, labConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := identity("alice@example.test")
	res, err := inj.Inject(ctx, sdk.InjectRequest{Identity: id, Method: "GET", URL: l.BackendURL, Spares: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Spares) != 8 || res.SparesFor != sparesFor || len(res.ForgetOn) != 1 || res.ForgetOn[0] != http.StatusUnauthorized {
		t.Fatalf("asked for 8 spares: %d, for %v, ForgetOn %v; want 8 for %v, ForgetOn [401]", len(res.Spares), res.SparesFor, res.ForgetOn, sparesFor)
	}
	seen := map[string]bool{}
	get := func(h http.Header) (int, string) {
		t.Helper()
		code, body, err := l.Get(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		return code, body
	}
	for i, h := range append([]http.Header{res.Set}, res.Spares...) {
		auth := h.Get("Authorization")
		if !strings.HasPrefix(auth, "Negotiate ") || seen[auth] {
			t.Fatalf("token %d: %.30q (seen before: %v)", i, auth, seen[auth])
		}
		seen[auth] = true
		hdr := http.Header{"Authorization": {"Basic YWRtaW46YWRtaW4="}}
		res.Apply(hdr) // Remove as the connector does, then the spare's own header
		for name, vs := range h {
			hdr[name] = vs
		}
		if code, body := get(hdr); code != http.StatusOK || !strings.Contains(body, "REMOTE_USER=alice\n") {
			t.Fatalf("token %d: HTTP %d %q, want alice's page", i, code, body)
		}
	}
	if code, _ := get(res.Spares[3]); code == http.StatusOK {
		t.Fatal("Apache accepted a spare token a second time: the replay cache is off, and this test proves nothing")
	}

	res, err = inj.Inject(ctx, sdk.InjectRequest{Identity: id, Method: "GET", URL: l.BackendURL, Spares: 1000})
	if err != nil || len(res.Spares) != sdk.MaxSpares {
		t.Fatalf("asked for 1000 spares: %d, %v; want %d", len(res.Spares), err, sdk.MaxSpares)
	}
	res, err = inj.Inject(ctx, sdk.InjectRequest{Identity: id, Method: "GET", URL: l.BackendURL})
	if err != nil || res.Spares != nil || res.SparesFor != 0 || res.ForgetOn != nil {
		t.Fatalf("asked for none: %+v, %v", res, err)
	}
}

// A ticket that ends within sparesFor makes no spares (the request still
// gets its token): the connector could keep one past the ticket's end.
func TestNoSparesFromAnEndingTicket(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	in, err := newInjector(sdk.ConfigureRequest{App: "intranet", Config: mustJSON(t, labConfig(t))}, clock)
	if err != nil {
		t.Fatal(err)
	}
	id := identity("alice@example.test")
	res, err := in.Inject(context.Background(), sdk.InjectRequest{Identity: id, Spares: 2})
	if err != nil || len(res.Spares) != 2 {
		t.Fatalf("fresh ticket: %d spares, %v; want 2", len(res.Spares), err)
	}
	user, err := in.mapper.user(id)
	if err != nil {
		t.Fatal(err)
	}
	tkt, err := in.cache.get(context.Background(), ticketKey{user: user, spn: in.spn})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = tkt.Expires.Add(-sparesFor / 2) // still usable, but not for sparesFor
	mu.Unlock()
	res, err = in.Inject(context.Background(), sdk.InjectRequest{Identity: id, Spares: 2})
	if err != nil || res.Set.Get("Authorization") == "" || res.Spares != nil {
		t.Fatalf("ticket ending in %v: %d spares, %v; want the token and no spares", sparesFor/2, len(res.Spares), err)
	}
}

// One Inject over the wire asking for sdk.MaxSpares spares, as the
// connector's steady state for a busy session: the cost per token (per
// request) is what ns/token reports, against one round trip per request
// without spares (BenchmarkInjectCachedOverWire).
func BenchmarkInjectSparesOverWire(b *testing.B) {
	inj, err := open(b, labConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := sdk.InjectRequest{Identity: identity("alice@example.test"), Method: "GET", URL: "http://intranet/", Spares: sdk.MaxSpares}
	if _, err := inj.Inject(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := inj.Inject(ctx, req)
		if err != nil || len(res.Spares) != sdk.MaxSpares {
			b.Fatalf("%d spares, %v", len(res.Spares), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(1+sdk.MaxSpares)), "ns/token")
}
