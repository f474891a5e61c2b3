package connector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// newSparesRig is a signOnRig whose plug-ins make one-time results: no
// ReuseFor, and as many spares as asked, good for sparesFor.
func newSparesRig(t *testing.T, cache *reuseCache, sparesFor time.Duration, names ...string) *signOnRig {
	r := newSignOnRig(t, cache, 0, nil, names...)
	for _, f := range r.fakes {
		f.sparesFor = sparesFor
	}
	return r
}

// One session's requests each get a result of their own, fresh or spare,
// never one another request got; the plug-in is asked for none on the
// first call, then 1, doubling up to sdk.MaxSpares while the session uses
// them up, and called far less often than there are requests.
func TestSparesEachUsedOnce(t *testing.T) {
	r := newSparesRig(t, newReuseCache(1000, 1<<20), time.Minute, "krb")
	env := r.envelope("krb", "s1", "alice", time.Now().Add(time.Hour))
	const requests = 200
	seen := map[string]bool{}
	for i := range requests {
		h := r.do("krb", env)
		serial := h.Get("X-Serial")
		if seen[serial] || h.Get("X-Remote-User") != "alice@krb" || len(h.Values("X-Serial")) != 1 {
			t.Fatalf("request %d: serial %q (seen before: %v), user %q", i, serial, seen[serial], h.Get("X-Remote-User"))
		}
		seen[serial] = true
	}
	want := []int{0, 1, 2, 4, 8, 16, 32, 32, 32, 32}
	calls := int(r.fakes["krb"].calls.Load())
	if got := r.fakes["krb"].asks; fmt.Sprint(got[:len(want)]) != fmt.Sprint(want) {
		t.Fatalf("spares asked for %v, want it to start %v", got, want)
	}
	if calls > 12 {
		t.Fatalf("%d plug-in calls for %d requests; spares should have served all but about 10", calls, requests)
	}
	p, _ := r.s.c.metrics.plugins.Load("fake")
	if pc := p.(*pluginCounters); pc.calls.Load() != uint64(calls) || pc.reused.Load() != uint64(requests-calls) {
		t.Errorf("metrics: calls %d reused %d, want %d and %d", pc.calls.Load(), pc.reused.Load(), calls, requests-calls)
	}
}

// Spares are never served to another session, app, backend or config:
// interleaved sessions, apps and wildcard backends each get their own
// user and a result nobody else got, and a config change drops them.
func TestSparesNeverShared(t *testing.T) {
	cache := newReuseCache(1000, 1<<20)
	r := newSparesRig(t, cache, time.Minute, "hr", "wiki")
	exp := time.Now().Add(time.Hour)
	type use struct {
		app, url string
		env      []byte
		user     string
	}
	aliceHR := r.envelope("hr", "s-alice", "alice", exp)
	uses := []use{
		{"hr", "http://a.corp/x", aliceHR, "alice@hr"},
		{"hr", "http://a.corp/x", r.envelope("hr", "s-bob", "bob", exp), "bob@hr"},
		{"hr", "http://a.corp/x", r.envelope("hr", "s-alice-2", "alice", exp), "alice@hr"},
		{"wiki", "http://a.corp/x", r.envelope("wiki", "s-alice", "alice", exp), "alice@wiki"},
		{"hr", "http://b.corp/x", aliceHR, "alice@hr"}, // the same envelope, another backend
		{"hr", "http://a.corp/x", r.envelope("hr", "s-shared", "carol", exp), "carol@hr"},
		{"hr", "http://a.corp/x", r.envelope("hr", "s-shared", "dave", exp), "dave@hr"},
	}
	seen := map[string]string{} // app+serial: who got it
	for round := range 40 {
		for i, u := range uses {
			h := r.doURL(u.app, u.url, u.env)
			id := u.app + "/" + h.Get("X-Serial")
			if h.Get("X-Remote-User") != u.user || h.Get("X-Backend") != u.url {
				t.Fatalf("round %d use %d: user %q backend %q, want %s at %s", round, i, h.Get("X-Remote-User"), h.Get("X-Backend"), u.user, u.url)
			}
			if who, ok := seen[id]; ok {
				t.Fatalf("round %d use %d: result %s served twice (first to use %s)", round, i, id, who)
			}
			seen[id] = fmt.Sprint(i)
		}
	}
	old := r.apps["hr"].signOn
	f := &fakeInjector{app: "hr-v2", sparesFor: time.Minute}
	r.apps["hr"].signOn = &signOn{inject: f.inject, gen: signOnGens.Add(1), cache: cache}
	old.close(0)
	if h := r.doURL("hr", uses[0].url, uses[0].env); h.Get("X-Remote-User") != "alice@hr-v2" || f.calls.Load() != 1 {
		t.Fatalf("after the config change: %q from %d calls, want the new config's result", h.Get("X-Remote-User"), f.calls.Load())
	}
	for el := cache.lru.Front(); el != nil; el = el.Next() {
		if e := el.Value.(*reuseEntry); e.key.gen == old.gen {
			t.Fatalf("the old config's entry for %s is still cached", e.key.session)
		}
	}
}

// Many requests of one session at once (run with -race): each spare goes
// to exactly one of them.
func TestSparesConcurrent(t *testing.T) {
	const workers, requests = 8, 100
	r := newSparesRig(t, newReuseCache(1000, 1<<20), time.Minute, "krb")
	env := r.envelope("krb", "s1", "alice", time.Now().Add(time.Hour))
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range requests {
				out, _ := http.NewRequest("GET", "http://127.0.0.1:1/x", nil)
				reject := 0
				if err := r.s.admit(context.Background(), r.apps["krb"], tunnel.RequestHeader{App: "krb", Envelope: env}, out, &reject); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[out.Header.Get("X-Serial")]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for serial, n := range seen {
		if n != 1 {
			t.Fatalf("result %s went to %d requests", serial, n)
		}
	}
	if len(seen) != workers*requests {
		t.Fatalf("%d distinct results for %d requests", len(seen), workers*requests)
	}
}

// A status the spares' call listed in ForgetOn drops the key's remaining
// spares: the next request calls the plug-in, which is asked for none, as
// on a first call. Another status does not.
func TestSparesForgetOn(t *testing.T) {
	r := newSparesRig(t, newReuseCache(1000, 1<<20), time.Minute, "krb")
	f := r.fakes["krb"]
	f.forgetOn = []int{401}
	env := r.envelope("krb", "s1", "alice", time.Now().Add(time.Hour))
	for range 4 { // calls asking 0, 1, 2: two spares left
		r.do("krb", env)
	}
	if f.calls.Load() != 3 {
		t.Fatalf("%d calls, want 3 (asking for 0, 1 and 2 spares)", f.calls.Load())
	}
	hdr := tunnel.RequestHeader{App: "krb", Envelope: env}
	out, _ := http.NewRequest("GET", "http://127.0.0.1:1/x", nil)
	r.s.forgetSignOn(r.apps["krb"], &hdr, out, http.StatusForbidden)
	if h := r.do("krb", env); f.calls.Load() != 3 || !strings.Contains(h.Get("X-Serial"), ".") {
		t.Fatalf("a 403 the result did not list dropped its spares: %d calls, serial %s", f.calls.Load(), h.Get("X-Serial"))
	}
	r.s.forgetSignOn(r.apps["krb"], &hdr, out, http.StatusUnauthorized)
	if h := r.do("krb", env); f.calls.Load() != 4 || h.Get("X-Serial") != "4" || f.last.Spares != 0 {
		t.Fatalf("after a 401: %d calls, serial %s, %d spares asked; want a fresh call asking for none",
			f.calls.Load(), h.Get("X-Serial"), f.last.Spares)
	}
}

// Spares are never used at or after their end: SparesFor capped at
// maxSparesFor, and never past the session's expiry. Spares that expire
// unused make the next call ask for half as many as it would have.
func TestSparesExpire(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	k := reuseKey{gen: 1, app: "krb", session: "s1"}
	spares := func(n int) []http.Header {
		hs := make([]http.Header, n)
		for i := range hs {
			hs[i] = http.Header{"Authorization": {fmt.Sprint("Negotiate ", i)}}
		}
		return hs
	}
	c := newReuseCache(1000, 1<<20)
	c.keepSpares(k, sdk.InjectResult{Spares: spares(8), SparesFor: time.Hour}, 8, now, now.Add(24*time.Hour))
	if _, ok, _ := c.get(k, now.Add(maxSparesFor-time.Nanosecond)); !ok {
		t.Fatal("no spare before maxSparesFor")
	}
	res, ok, ask := c.get(k, now.Add(maxSparesFor))
	if ok || ask != 8 {
		t.Fatalf("at maxSparesFor (SparesFor was an hour): %v %v, ask %d; want no spare, and to ask for half of 16", res, ok, ask)
	}
	if c.count != 1 || c.bytes != c.lru.Front().Value.(*reuseEntry).size {
		t.Fatalf("expired spares still counted: count %d, bytes %d", c.count, c.bytes)
	}

	session := now.Add(10 * time.Second)
	c.keepSpares(k, sdk.InjectResult{Spares: spares(4), SparesFor: time.Minute}, 4, now, session)
	if _, ok, _ := c.get(k, session.Add(-time.Nanosecond)); !ok {
		t.Fatal("no spare before the session's end")
	}
	if _, ok, _ := c.get(k, session); ok || c.len() != 0 {
		t.Fatalf("a spare served at the session's end (%v), or its entry kept (%d)", ok, c.len())
	}
	c.keepSpares(k, sdk.InjectResult{Spares: spares(4), SparesFor: time.Minute}, 4, session, session)
	if _, ok, _ := c.get(k, session.Add(-time.Second)); ok {
		t.Fatal("spares made at the session's end were kept")
	}
}

// Spares count in the cache's bounds: each is an entry, and their bytes
// count; one key's spares stop at maxSpareBytes; a spare over
// maxReuseResult, or more than asked, drops them all (and is logged),
// while the request still gets its own result.
func TestSparesBounds(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	k := func(i int) reuseKey { return reuseKey{gen: 1, app: "krb", session: fmt.Sprint("s", i)} }
	tok := func(size int) []http.Header {
		hs := make([]http.Header, 32)
		for i := range hs {
			hs[i] = http.Header{"Authorization": {fmt.Sprintf("%0*d", size, i)}}
		}
		return hs
	}
	res := func(hs []http.Header) sdk.InjectResult { return sdk.InjectResult{Spares: hs, SparesFor: time.Minute} }
	session := now.Add(time.Hour)

	c := newReuseCache(10, 1<<20)
	c.keepSpares(k(1), res(tok(10)), 32, now, session)
	if e := c.lru.Front().Value.(*reuseEntry); c.count > 10 || e.spares.len() != 9 || e.spares.ask != 9 {
		t.Fatalf("entry bound 10: count %d, %d spares kept, next ask %d; want 9 and 9", c.count, e.spares.len(), e.spares.ask)
	}
	c.keepSpares(k(2), res(tok(10)[:4]), 4, now, session)
	if c.count > 10 || c.len() != 1 {
		t.Fatalf("past the entry bound the least recently used should go: count %d, %d entries", c.count, c.len())
	}

	b := newReuseCache(1000, 1<<20)
	b.keepSpares(k(1), res(tok(4000)), 32, now, session)
	e := b.lru.Front().Value.(*reuseEntry)
	if n := e.spares.len(); n == 0 || n >= 32 || e.size > maxSpareBytes || b.bytes != e.size {
		t.Fatalf("4 KB spares: %d kept, %d bytes (entry %d); want as many as fit in %d", n, b.bytes, e.size, maxSpareBytes)
	}
	for i := range 40 {
		b.keepSpares(k(i), res(tok(1000)), 32, now, session)
	}
	if b.bytes > b.maxBytes || b.count > b.maxEntries {
		t.Fatalf("bounds: %d bytes of %d, %d entries of %d", b.bytes, b.maxBytes, b.count, b.maxEntries)
	}
	for _, tc := range []struct {
		name   string
		res    sdk.InjectResult
		asked  int
		reason string
	}{
		{"oversized", res(append(tok(10)[:2], http.Header{"Authorization": {strings.Repeat("x", maxReuseResult)}})), 4, "over the limit"},
		{"more than asked", res(tok(10)[:5]), 4, "5 spare results, 4 asked for"},
		{"no SparesFor", sdk.InjectResult{Spares: tok(10)[:2]}, 4, "without SparesFor"},
	} {
		c := newReuseCache(1000, 1<<20)
		if why := c.keepSpares(k(1), tc.res, tc.asked, now, session); !strings.Contains(why, tc.reason) {
			t.Errorf("%s: reason %q, want %q", tc.name, why, tc.reason)
		}
		if _, ok, _ := c.get(k(1), now); ok {
			t.Errorf("%s: a spare was kept", tc.name)
		}
	}
}

// Through admit: an oversized spare is logged and dropped, and the request
// that asked still gets the plug-in's own result.
func TestSparesOversizedLogged(t *testing.T) {
	var logs strings.Builder
	r := newSparesRig(t, newReuseCache(1000, 1<<20), time.Minute, "krb")
	r.s.log = slog.New(slog.NewTextHandler(&logs, nil))
	big := strings.Repeat("x", maxReuseResult)
	r.apps["krb"].signOn.inject = func(ctx context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
		res, err := r.fakes["krb"].inject(ctx, req)
		for i := range res.Spares {
			res.Spares[i].Set("X-Big", big)
		}
		return res, err
	}
	env := r.envelope("krb", "s1", "alice", time.Now().Add(time.Hour))
	for i := range 3 {
		if h := r.do("krb", env); h.Get("X-Serial") != fmt.Sprint(i+1) || h.Get("X-Big") != "" {
			t.Fatalf("request %d: serial %q, X-Big %d bytes; want a fresh result each time", i+1, h.Get("X-Serial"), len(h.Get("X-Big")))
		}
	}
	if !strings.Contains(logs.String(), "spare results ignored") || !strings.Contains(logs.String(), "over the limit") {
		t.Fatalf("no warning logged:\n%s", logs.String())
	}
}

// A result the plug-in lets the connector reuse needs no spares: they are
// not kept with it, and every later request gets the reused result.
func TestSparesIgnoredWithReuseFor(t *testing.T) {
	r := newSparesRig(t, newReuseCache(1000, 1<<20), time.Minute, "hdr")
	calls := 0
	r.apps["hdr"].signOn.inject = func(_ context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
		calls++
		return sdk.InjectResult{Set: http.Header{"X-Serial": {fmt.Sprint(calls)}}, ReuseFor: time.Hour,
			Spares: []http.Header{{"X-Serial": {"spare"}}}, SparesFor: time.Minute}, nil
	}
	env := r.envelope("hdr", "s1", "alice", time.Now().Add(time.Hour))
	for i := range 5 {
		if got := r.do("hdr", env).Get("X-Serial"); got != "1" {
			t.Fatalf("request %d got %s, want the reused result 1", i, got)
		}
	}
	e := r.cache.lru.Front().Value.(*reuseEntry)
	if calls != 1 || r.cache.len() != 1 || e.res.Spares != nil || e.res.SparesFor != 0 || e.spares != nil || r.cache.count != 1 {
		t.Fatalf("%d calls; cached %+v (count %d); want one reused result without spares", calls, e, r.cache.count)
	}
}

// A refill starts when less than half of what it asks for is left: the
// request that starts it calls the plug-in, the session's other requests
// use the spares left meanwhile (oldest first), and the new spares join
// them, each with its own end.
func TestSparesRefillAtLowWater(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	k := reuseKey{gen: 1, app: "krb", session: "s1"}
	batch := func(name string) sdk.InjectResult {
		res := sdk.InjectResult{SparesFor: time.Minute}
		for i := range sdk.MaxSpares {
			res.Spares = append(res.Spares, http.Header{"Authorization": {fmt.Sprint(name, i)}})
		}
		return res
	}
	c := newReuseCache(1000, 1<<20)
	c.keepSpares(k, batch("old"), sdk.MaxSpares, now, now.Add(time.Hour))
	left := sdk.MaxSpares/2 - 1
	for i := range sdk.MaxSpares - left {
		if res, ok, _ := c.get(k, now); !ok || res.Set.Get("Authorization") != fmt.Sprint("old", i) {
			t.Fatalf("spare %d: %v %v; want old%d", i, res.Set, ok, i)
		}
	}
	if _, ok, ask := c.get(k, now); ok || ask != sdk.MaxSpares {
		t.Fatalf("with %d left: ok %v, ask %d; want this request to refill, asking for %d", left, ok, ask, sdk.MaxSpares)
	}
	next := sdk.MaxSpares - left
	if res, ok, ask := c.get(k, now); !ok || ask != 0 || res.Set.Get("Authorization") != fmt.Sprint("old", next) {
		t.Fatalf("during the refill: %v %v ask %d; want the spare old%d", res.Set, ok, ask, next)
	}
	later := now.Add(30 * time.Second)
	c.keepSpares(k, batch("new"), sdk.MaxSpares, later, now.Add(time.Hour))
	if e := c.lru.Front().Value.(*reuseEntry); e.spares.len() != left-1+sdk.MaxSpares || c.count != left+sdk.MaxSpares {
		t.Fatalf("after the refill: %d spares, count %d; want the %d left and %d new", e.spares.len(), c.count, left-1, sdk.MaxSpares)
	}
	if res, ok, _ := c.get(k, later); !ok || res.Set.Get("Authorization") != fmt.Sprint("old", next+1) {
		t.Fatalf("after the refill: %v %v; want the oldest, old%d", res.Set, ok, next+1)
	}
	if res, ok, _ := c.get(k, now.Add(time.Minute)); !ok || res.Set.Get("Authorization") != "new0" {
		t.Fatalf("when the old ones end: %v %v; want new0", res.Set, ok)
	}
	if e := c.lru.Front().Value.(*reuseEntry); e.spares.len() != sdk.MaxSpares-1 || c.count != sdk.MaxSpares || e.spares.ask != sdk.MaxSpares/2 {
		t.Fatalf("the old ones ended unused: %d spares, count %d, next ask %d; want %d, %d, %d",
			e.spares.len(), c.count, e.spares.ask, sdk.MaxSpares-1, sdk.MaxSpares, sdk.MaxSpares/2)
	}
}
