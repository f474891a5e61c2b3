package connector

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// fakeInjector is an in-process Injector: it renders X-Remote-User and a
// per-call serial (so a test can tell a fresh result from a reused one),
// with the ReuseFor and ForgetOn the test sets, and counts its calls.
type fakeInjector struct {
	app      string
	reuseFor time.Duration
	forgetOn []int
	// sparesFor, when set, makes the fake answer as many spares as asked,
	// X-Serial "N.i" for call N's spare i (spares_test.go).
	sparesFor time.Duration
	calls     atomic.Int64
	mu        sync.Mutex
	last      sdk.InjectRequest
	asks      []int // InjectRequest.Spares of every call
}

func (f *fakeInjector) inject(_ context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	f.last = req
	f.asks = append(f.asks, req.Spares)
	f.mu.Unlock()
	set := func(serial string) http.Header {
		return http.Header{"X-Remote-User": {req.Identity.Subject + "@" + f.app}, "X-Serial": {serial}, "X-Backend": {req.URL}}
	}
	res := sdk.InjectResult{
		Remove:   []string{"X-Remote-User", "X-Serial"},
		Set:      set(fmt.Sprint(n)),
		ReuseFor: f.reuseFor, ForgetOn: f.forgetOn,
	}
	if f.sparesFor > 0 {
		for i := range req.Spares {
			res.Spares = append(res.Spares, set(fmt.Sprintf("%d.%d", n, i)))
		}
		res.SparesFor = f.sparesFor
	}
	return res, nil
}

// signOnRig is a connector session with apps whose sign-on is a fake
// Injector, sharing one reuse cache as a connector's apps do.
type signOnRig struct {
	t     *testing.T
	s     *session
	priv  ed25519.PrivateKey
	cache *reuseCache
	apps  map[string]*app
	fakes map[string]*fakeInjector
}

func newSignOnRig(t *testing.T, cache *reuseCache, reuseFor time.Duration, forgetOn []int, names ...string) *signOnRig {
	pub, priv, _ := ed25519.GenerateKey(nil)
	c := &Connector{envelopes: envelopes{key: pub}, log: slog.New(slog.DiscardHandler), metrics: newMetrics()}
	r := &signOnRig{t: t, s: &session{c: c, log: c.log}, priv: priv, cache: cache, apps: map[string]*app{}, fakes: map[string]*fakeInjector{}}
	for _, name := range names {
		cfg := tunnel.AppConfig{Name: name, URL: "http://127.0.0.1:1", Identity: true, SignOn: &tunnel.SignOn{Plugin: "fake"}}
		a, err := newApp(cfg, fastpath.All)
		if err != nil {
			t.Fatal(err)
		}
		f := &fakeInjector{app: name, reuseFor: reuseFor, forgetOn: forgetOn}
		a.signOn = &signOn{inject: f.inject, gen: signOnGens.Add(1), cache: cache}
		r.apps[name], r.fakes[name] = a, f
	}
	return r
}

// envelope signs a session's identity envelope for app.
func (r *signOnRig) envelope(app, sid, subject string, expires time.Time) []byte {
	b, err := tunnel.SignEnvelope(r.priv, tunnel.Envelope{App: app, Session: sid, IssuedAt: time.Now(), Expires: expires,
		Identity: sdk.Identity{Subject: subject}})
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// do admits one request with envelope env to app and returns the
// header the backend would get.
func (r *signOnRig) do(app string, env []byte) http.Header {
	r.t.Helper()
	return r.doURL(app, "http://127.0.0.1:1/x", env)
}

// doURL is do for a request to backend URL u (a wildcard app's backends
// differ by host).
func (r *signOnRig) doURL(app, u string, env []byte) http.Header {
	r.t.Helper()
	out, _ := http.NewRequest("GET", u, nil)
	out.Header.Set("X-Remote-User", "spoofed")
	reject := 0
	if err := r.s.admit(context.Background(), r.apps[app], tunnel.RequestHeader{App: app, Envelope: env}, out, &reject); err != nil {
		r.t.Fatalf("admit %s: %v", app, err)
	}
	return out.Header
}

// Two users of one app, interleaved, each get their own headers on every
// request, and the plug-in is called once per session; a second session
// of the same user is its own entry too, and so is the same session's
// envelope for another app. A key mix-up here would hand one user's
// identity to another.
func TestSignOnReuseNeverShared(t *testing.T) {
	r := newSignOnRig(t, newReuseCache(100, 1<<20), time.Hour, nil, "hr", "wiki")
	exp := time.Now().Add(time.Hour)
	alice := r.envelope("hr", "s-alice", "alice", exp)
	bob := r.envelope("hr", "s-bob", "bob", exp)
	alice2 := r.envelope("hr", "s-alice-2", "alice", exp)
	aliceWiki := r.envelope("wiki", "s-alice", "alice", exp)
	// Two envelopes that claim one session id for different users (the
	// gateway never makes such a pair): the envelope's hash still keeps
	// them apart.
	carol := r.envelope("hr", "s-shared", "carol", exp)
	dave := r.envelope("hr", "s-shared", "dave", exp)
	type want struct {
		env       []byte
		app, user string
	}
	seq := []want{{alice, "hr", "alice@hr"}, {bob, "hr", "bob@hr"}, {alice2, "hr", "alice@hr"}, {aliceWiki, "wiki", "alice@wiki"},
		{carol, "hr", "carol@hr"}, {dave, "hr", "dave@hr"}}
	serials := map[string]string{}
	for round := range 5 {
		for i, w := range seq {
			h := r.do(w.app, w.env)
			if got := h.Values("X-Remote-User"); len(got) != 1 || got[0] != w.user {
				t.Fatalf("round %d request %d: X-Remote-User %q, want exactly %q", round, i, got, w.user)
			}
			key := fmt.Sprint(i)
			if round == 0 {
				serials[key] = h.Get("X-Serial")
			} else if h.Get("X-Serial") != serials[key] {
				t.Fatalf("round %d request %d: serial %s, want the first result %s reused", round, i, h.Get("X-Serial"), serials[key])
			}
		}
	}
	if n := r.fakes["hr"].calls.Load(); n != 5 {
		t.Errorf("hr's plug-in called %d times, want 5 (alice, bob, alice's second session, carol, dave)", n)
	}
	if n := r.fakes["wiki"].calls.Load(); n != 1 {
		t.Errorf("wiki's plug-in called %d times, want 1", n)
	}
	if len(map[string]bool{serials["0"]: true, serials["1"]: true, serials["2"]: true}) != 3 {
		t.Errorf("sessions share a result: serials %v", serials)
	}
	if r.cache.len() != 6 {
		t.Errorf("cache holds %d results, want 6", r.cache.len())
	}
	p, _ := r.s.c.metrics.plugins.Load("fake")
	if pc := p.(*pluginCounters); pc.calls.Load() != 6 || pc.reused.Load() != 24 {
		t.Errorf("metrics: calls %d reused %d, want 6 and 24", pc.calls.Load(), pc.reused.Load())
	}
}

// A plug-in that says nothing about reuse (an older one, or one whose
// answers are one-time) is called for every request. It is asked for
// spares (spares.go) until it has ignored sparesGiveUp such calls, then
// no more, and costs the cache nothing.
func TestSignOnNoReuseWithoutReuseFor(t *testing.T) {
	r := newSignOnRig(t, newReuseCache(100, 1<<20), 0, nil, "hr")
	env := r.envelope("hr", "s1", "alice", time.Now().Add(time.Hour))
	for i := range sparesGiveUp + 4 {
		if got := r.do("hr", env).Get("X-Serial"); got != fmt.Sprint(i+1) {
			t.Fatalf("request %d carried result %s, want a fresh one", i+1, got)
		}
	}
	if n := r.fakes["hr"].calls.Load(); n != sparesGiveUp+4 {
		t.Fatalf("calls %d, want %d", n, sparesGiveUp+4)
	}
	want := []int{0}
	for range sparesGiveUp {
		want = append(want, 1)
	}
	want = append(want, 0, 0, 0)
	if got := r.fakes["hr"].asks; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("spares asked for %v, want %v", got, want)
	}
	before := r.cache.len()
	r.do("hr", r.envelope("hr", "s2", "bob", time.Now().Add(time.Hour)))
	if r.cache.len() != before {
		t.Fatalf("a new session of a plug-in that makes no spares was given an entry: %d entries, was %d", r.cache.len(), before)
	}
}

// A reused result never outlives the session: its expiry is the
// envelope's when that comes before ReuseFor, and the plug-in is told the
// session's end.
func TestSignOnReuseCappedAtSessionExpiry(t *testing.T) {
	r := newSignOnRig(t, newReuseCache(100, 1<<20), 24*time.Hour, nil, "hr")
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	env := r.envelope("hr", "s1", "alice", exp)
	r.do("hr", env)
	if got := r.fakes["hr"].last.SessionExpires; !got.Equal(exp) {
		t.Errorf("InjectRequest.SessionExpires %v, want %v", got, exp)
	}
	el := r.cache.lru.Front()
	if el == nil || !el.Value.(*reuseEntry).expires.Equal(exp) {
		t.Fatalf("cached entry %+v, want one expiring with the session at %v", el, exp)
	}
	if _, ok, _ := r.cache.get(el.Value.(*reuseEntry).key, exp); ok {
		t.Fatal("a result was served at the session's expiry")
	}
}

// Expiry, recency and both bounds, on the cache alone with explicit times.
func TestReuseCacheTTLAndCap(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	key := func(i int) reuseKey { return reuseKey{gen: 1, app: "hr", session: fmt.Sprint("s", i)} }
	res := func(v string) sdk.InjectResult { return sdk.InjectResult{Set: http.Header{"X-User": {v}}} }

	c := newReuseCache(3, 1<<20)
	c.put(key(1), res("one"), now.Add(time.Minute))
	if r, ok, _ := c.get(key(1), now.Add(59*time.Second)); !ok || r.Set.Get("X-User") != "one" {
		t.Fatalf("hit before expiry: %v %v", r, ok)
	}
	if _, ok, _ := c.get(key(1), now.Add(time.Minute)); ok || c.len() != 0 {
		t.Fatalf("served at its expiry (ok %v), or kept (%d entries)", ok, c.len())
	}

	for i := 1; i <= 3; i++ {
		c.put(key(i), res(fmt.Sprint(i)), now.Add(time.Hour))
	}
	c.get(key(1), now) // 1 is now the most recently used; 2 the least
	c.put(key(4), res("4"), now.Add(time.Hour))
	if _, ok, _ := c.get(key(2), now); ok || c.len() != 3 {
		t.Fatalf("past 3 entries the least recently used (2) should go: ok %v, len %d", ok, c.len())
	}
	for _, i := range []int{1, 3, 4} {
		if r, ok, _ := c.get(key(i), now); !ok || r.Set.Get("X-User") != fmt.Sprint(i) {
			t.Fatalf("entry %d: %v %v", i, r, ok)
		}
	}

	big := sdk.InjectResult{Set: http.Header{"X-Big": {strings.Repeat("x", 1000)}}}
	b := newReuseCache(100, 3*resultSize(key(1), big))
	for i := 1; i <= 5; i++ {
		b.put(key(i), big, now.Add(time.Hour))
	}
	if b.len() != 3 || b.bytes > b.maxBytes {
		t.Fatalf("byte bound: %d entries, %d bytes of %d", b.len(), b.bytes, b.maxBytes)
	}
	huge := sdk.InjectResult{Set: http.Header{"X-Huge": {strings.Repeat("x", maxReuseResult)}}}
	b.put(key(9), huge, now.Add(time.Hour))
	if _, ok, _ := b.get(key(9), now); ok {
		t.Fatal("a result over maxReuseResult was kept")
	}
}

// A status the result lists in ForgetOn drops it (the next request calls
// the plug-in), another status does not, and a result that did not opt in
// is kept whatever the backend says.
func TestSignOnForgetOnStatus(t *testing.T) {
	r := newSignOnRig(t, newReuseCache(100, 1<<20), time.Hour, []int{401}, "jwt", "plain")
	r.fakes["plain"].forgetOn = nil
	exp := time.Now().Add(time.Hour)
	env := r.envelope("jwt", "s1", "alice", exp)
	penv := r.envelope("plain", "s1", "alice", exp)

	r.do("jwt", env)
	r.do("plain", penv)
	hdr := tunnel.RequestHeader{App: "jwt", Envelope: env}
	out, _ := http.NewRequest("GET", "http://127.0.0.1:1/x", nil)
	r.s.forgetSignOn(r.apps["jwt"], &hdr, out, http.StatusForbidden)
	r.do("jwt", env)
	if n := r.fakes["jwt"].calls.Load(); n != 1 {
		t.Fatalf("a 403 the result did not list dropped it: %d calls", n)
	}
	r.s.forgetSignOn(r.apps["jwt"], &hdr, out, http.StatusUnauthorized)
	if h := r.do("jwt", env); r.fakes["jwt"].calls.Load() != 2 || h.Get("X-Serial") != "2" {
		t.Fatalf("after a 401: %d calls, serial %s; want a fresh result", r.fakes["jwt"].calls.Load(), h.Get("X-Serial"))
	}
	phdr := tunnel.RequestHeader{App: "plain", Envelope: penv}
	r.s.forgetSignOn(r.apps["plain"], &phdr, out, http.StatusUnauthorized)
	r.do("plain", penv)
	if n := r.fakes["plain"].calls.Load(); n != 1 {
		t.Fatalf("a result without ForgetOn was dropped on a 401: %d calls", n)
	}
}

// A config change (a new signOn for the app) drops the old one's results:
// the new plug-in is called even for a session that had one.
func TestSignOnConfigChangeDropsResults(t *testing.T) {
	cache := newReuseCache(100, 1<<20)
	r := newSignOnRig(t, cache, time.Hour, nil, "hr")
	env := r.envelope("hr", "s1", "alice", time.Now().Add(time.Hour))
	r.do("hr", env)
	old := r.apps["hr"].signOn
	f := &fakeInjector{app: "hr-v2", reuseFor: time.Hour}
	r.apps["hr"].signOn = &signOn{inject: f.inject, gen: signOnGens.Add(1), cache: cache}
	old.close(0)
	if cache.len() != 0 {
		t.Fatalf("%d results left after the config change", cache.len())
	}
	if h := r.do("hr", env); h.Get("X-Remote-User") != "alice@hr-v2" || f.calls.Load() != 1 {
		t.Fatalf("after the change: %q from %d calls, want the new config's result", h.Get("X-Remote-User"), f.calls.Load())
	}
}

// A wildcard app's backends (one host per label) each get their own
// result, even for one session.
func TestSignOnReusePerBackend(t *testing.T) {
	r := newSignOnRig(t, newReuseCache(100, 1<<20), time.Hour, nil, "wild")
	env := r.envelope("wild", "s1", "alice", time.Now().Add(time.Hour))
	for range 3 {
		for _, u := range []string{"http://a.corp.local/x", "http://b.corp.local/x"} {
			if got := r.doURL("wild", u, env).Get("X-Backend"); got != u {
				t.Fatalf("request to %s carried the result made for %s", u, got)
			}
		}
	}
	if n := r.fakes["wild"].calls.Load(); n != 2 {
		t.Fatalf("%d calls, want one per backend", n)
	}
}

// Many sessions at once, more than the cache holds (run with -race):
// every request carries its own session's identity while entries come and
// go, and the cache's bound holds.
func TestSignOnReuseConcurrent(t *testing.T) {
	const sessions, workers, requests = 40, 4, 50
	r := newSignOnRig(t, newReuseCache(16, 1<<20), time.Hour, nil, "hr")
	exp := time.Now().Add(time.Hour)
	envs := make([][]byte, sessions)
	for i := range envs {
		envs[i] = r.envelope("hr", fmt.Sprint("s", i), fmt.Sprint("user", i), exp)
	}
	var wg sync.WaitGroup
	errs := make(chan string, workers*sessions)
	for w := range workers {
		wg.Go(func() {
			for n := range requests {
				i := (w*7 + n*3) % sessions
				out, _ := http.NewRequest("GET", "http://127.0.0.1:1/x", nil)
				reject := 0
				if err := r.s.admit(context.Background(), r.apps["hr"], tunnel.RequestHeader{App: "hr", Envelope: envs[i]}, out, &reject); err != nil {
					errs <- err.Error()
					return
				}
				if got, want := out.Header.Get("X-Remote-User"), fmt.Sprint("user", i, "@hr"); got != want {
					errs <- fmt.Sprintf("session %d got %q, want %q", i, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if n := r.cache.len(); n > 16 {
		t.Fatalf("cache holds %d results, over its bound of 16", n)
	}
}

// get is lookup without the refill: a test that refills with it leaves
// the refill in flight until refillWait has passed.
func (c *reuseCache) get(k reuseKey, now time.Time) (res sdk.InjectResult, ok bool, ask int) {
	res, ok, ask, _ = c.lookup(k, now)
	return res, ok, ask
}
