package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// heldRefill is a sparesRig whose plug-in holds its first call that asks
// for spares (the refill) until release is closed, then fails it when fail
// is set. Calls made while it is held are counted in during.
type heldRefill struct {
	r       *signOnRig
	env     []byte
	entered chan int // the held refill's InjectRequest.Spares
	release chan struct{}
	fail    bool
	during  atomic.Int64
	held    atomic.Bool
}

// newHeldRefill makes one request of a session (the key's first call,
// asking for none), sets the key's next ask to ask, and starts the request
// that refills it, which is held in the plug-in when it returns; done gets
// that request's error.
func newHeldRefill(t *testing.T, ask int, fail bool) (h *heldRefill, r *refill, done chan error) {
	rig := newSparesRig(t, newReuseCache(1000, 1<<20), time.Minute, "krb")
	h = &heldRefill{r: rig, entered: make(chan int, 1), release: make(chan struct{}), fail: fail}
	f := rig.fakes["krb"]
	var first atomic.Bool
	rig.apps["krb"].signOn.inject = func(ctx context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
		if req.Spares > 0 && first.CompareAndSwap(false, true) {
			h.held.Store(true)
			h.entered <- req.Spares
			<-h.release
			h.held.Store(false)
			if h.fail {
				return sdk.InjectResult{}, errors.New("the KDC is away")
			}
		} else if h.held.Load() {
			h.during.Add(1)
		}
		return f.inject(ctx, req)
	}
	h.env = rig.envelope("krb", "s1", "alice", time.Now().Add(time.Hour))
	rig.do("krb", h.env)
	rig.cache.mu.Lock()
	e := rig.cache.lru.Front().Value.(*reuseEntry)
	e.spares.ask = ask
	rig.cache.mu.Unlock()
	done = make(chan error, 1)
	go func() { _, err := h.admit(context.Background()); done <- err }()
	if n := <-h.entered; n != ask {
		t.Fatalf("the refill asked for %d spares, want %d", n, ask)
	}
	rig.cache.mu.Lock()
	r = e.spares.refill
	rig.cache.mu.Unlock()
	if r == nil {
		t.Fatal("no refill in flight")
	}
	return h, r, done
}

func (h *heldRefill) admit(ctx context.Context) (http.Header, error) {
	out, _ := http.NewRequest("GET", "http://127.0.0.1:1/x", nil)
	reject := 0
	err := h.r.s.admit(ctx, h.r.apps["krb"], tunnel.RequestHeader{App: "krb", Envelope: h.env}, out, &reject)
	return out.Header, err
}

// requests runs n requests of the session at once, and returns their
// serials, once each has either called the plug-in or waits for r.
func (h *heldRefill) requests(t *testing.T, n int, r *refill) func() []string {
	serials := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			hdr, err := h.admit(context.Background())
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			serials[i] = hdr.Get("X-Serial")
		})
	}
	for int(r.waiters.Load())+int(h.during.Load()) < n {
		time.Sleep(50 * time.Microsecond) // until each is in place
	}
	return func() []string { wg.Wait(); return serials }
}

// Requests that find no spare while a refill runs wait for it instead of
// calling the plug-in: n of them during a slow refill of n spares make no
// plug-in call, and each gets a spare of that refill, none twice (half of
// a full batch: no refill is due after them).
func TestSparesWaitForTheRefill(t *testing.T) {
	const n = sdk.MaxSpares / 2
	h, r, done := newHeldRefill(t, sdk.MaxSpares, false)
	wait := h.requests(t, n, r)
	if c := h.during.Load(); c != 0 {
		t.Fatalf("%d plug-in calls while the refill ran; want the requests to wait", c)
	}
	close(h.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, s := range wait() {
		if !strings.HasPrefix(s, "2.") || seen[s] {
			t.Fatalf("request %d got %q (seen before: %v); want a spare of the refill (call 2)", i, s, seen[s])
		}
		seen[s] = true
	}
	if calls := h.r.fakes["krb"].calls.Load(); calls != 2 {
		t.Fatalf("%d plug-in calls, want 2 (the first and the refill)", calls)
	}
	if r.waiters.Load() != 0 {
		t.Fatalf("%d requests still wait", r.waiters.Load())
	}
}

// A refill that fails lets those waiting for it fall back to a call of
// their own (one of them refilling, by the usual rules): each still gets a
// result nobody else got.
func TestSparesFailedRefill(t *testing.T) {
	const n = 4
	h, r, done := newHeldRefill(t, n, true)
	wait := h.requests(t, n, r)
	close(h.release)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "the KDC is away") {
		t.Fatalf("the refilling request: %v, want the plug-in's error", err)
	}
	seen := map[string]bool{}
	for i, s := range wait() {
		if s == "" || seen[s] {
			t.Fatalf("request %d got %q (seen before: %v); want a result of its own", i, s, seen[s])
		}
		seen[s] = true
	}
	f := h.r.fakes["krb"]
	f.mu.Lock()
	defer f.mu.Unlock()
	refilled := false
	for _, a := range f.asks[1:] { // the fake never saw the failed call
		refilled = refilled || a > 0
	}
	if !refilled || len(f.asks) > 1+n {
		t.Fatalf("calls after the failed refill asked for %v; want one of the waiters to refill, at most %d calls", f.asks[1:], n)
	}
}

// A request whose context ends while it waits for a refill stops waiting
// at once with the context's error, and calls no plug-in.
func TestSparesWaitCancelled(t *testing.T) {
	h, r, done := newHeldRefill(t, 4, false)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { _, err := h.admit(ctx); got <- err }()
	for r.waiters.Load() != 1 && h.during.Load() == 0 {
		time.Sleep(50 * time.Microsecond)
	}
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v, want context.Canceled", err)
	}
	if c := h.during.Load(); c != 0 || r.waiters.Load() != 0 {
		t.Fatalf("%d plug-in calls, %d waiting; want none", c, r.waiters.Load())
	}
	close(h.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(h.r.fakes["krb"].calls.Load()); s != "2" {
		t.Fatalf("%s plug-in calls, want 2", s)
	}
}
