package wasm

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A chain of a WAT and a Go filter under concurrent requests, some of
// which make the WAT guest trap: every request gets its own answer, the
// failing ones 500, the rest pass both filters. Run with -race.
func TestConcurrentChain(t *testing.T) {
	h := newHarness(t)
	wat := h.load(t, watFile(t, "edge"), func(s *Spec) { s.PoolSize = 3; s.QueueTimeout = 10 * time.Second; s.MaxFailures = 1000 })
	gog := h.load(t, goGuest(t, "./testdata/sdkguest"), func(s *Spec) { s.PoolSize = 3; s.QueueTimeout = 10 * time.Second })
	url := server(t, wat.Wrap(gog.Wrap(echoApp()))).URL
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range 25 {
				trap := (w+i)%5 == 0
				hdr := map[string]string{}
				if trap {
					hdr["X-Unreachable"] = "1"
				}
				res, body, rid := do(t, "GET", url+"/c", "", hdr)
				switch {
				case trap && res.StatusCode != 500:
					t.Errorf("%s: a trapping request got %d", rid, res.StatusCode)
				case !trap && res.StatusCode != 200:
					t.Errorf("%s: got %d %q", rid, res.StatusCode, body)
				case !trap:
					if s := decodeSeen(t, body); s.Header.Get("X-Wat") != "1" || s.Header.Get("X-Go") != "1" ||
						s.Header.Get("X-Request-Id") != rid {
						t.Errorf("%s: the app got %v", rid, s.Header)
					}
				}
			}
		})
	}
	wg.Wait()
}

// Reload as the gateway does it: load the new filter, swap the handler,
// Close the old one. Requests running throughout all succeed.
func TestReloadUnderLoad(t *testing.T) {
	h := newHarness(t)
	path := goGuest(t, "./testdata/sdkguest")
	load := func() *Filter {
		f, err := h.rt.Load(context.Background(), Spec{Name: "reload", Path: path, SHA256: fileSHA256(t, path), PoolSize: 2, QueueTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	cur := load()
	var handler atomic.Pointer[http.Handler]
	wrap := func(f *Filter) { hh := f.Wrap(echoApp()); handler.Store(&hh) }
	wrap(cur)
	url := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) })).URL

	var served, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, body, _ := do(t, "GET", url+"/r", "", nil)
				if res.StatusCode != 200 || decodeSeen(t, body).Header.Get("X-Go") != "1" {
					failed.Add(1)
					t.Errorf("got %d %q", res.StatusCode, body)
				}
				served.Add(1)
			}
		})
	}
	for range 3 {
		time.Sleep(30 * time.Millisecond)
		next := load()
		wrap(next)
		if err := cur.Close(context.Background()); err != nil {
			t.Error(err)
		}
		cur = next
	}
	time.Sleep(30 * time.Millisecond)
	close(stop)
	wg.Wait()
	_ = cur.Close(context.Background())
	if served.Load() < 20 || failed.Load() != 0 {
		t.Errorf("served %d requests, %d failed", served.Load(), failed.Load())
	}
}
