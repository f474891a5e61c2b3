package wasm

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// callLog is a FilterObserver that keeps the calls it is told about.
type callLog struct {
	mu      sync.Mutex
	calls   int
	trapped int
}

func (c *callLog) GuestCall(d time.Duration, trapped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if trapped {
		c.trapped++
	}
}

func (c *callLog) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.trapped
}

// TestObserver: Options.Observe gives each loaded filter its observer,
// which is told about every guest call and about the ones that trap.
func TestObserver(t *testing.T) {
	observers := map[string]*callLog{}
	var mu sync.Mutex
	rt, err := NewRuntime(context.Background(), Options{CacheDir: compileCacheDir(t), Logger: slog.New(slog.DiscardHandler),
		Observe: func(app, filter string) FilterObserver {
			mu.Lock()
			defer mu.Unlock()
			observers[app+"/"+filter] = &callLog{}
			return observers[app+"/"+filter]
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	path := watFile(t, "edge")
	f, err := rt.Load(context.Background(), Spec{Name: "edge", App: "demo", Path: path, SHA256: fileSHA256(t, path), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(context.Background())
	obs := observers["demo/edge"]
	if obs == nil {
		t.Fatalf("no observer made for demo/edge: %v", observers)
	}
	url := server(t, f.Wrap(echoApp())).URL
	if res, _, _ := do(t, "GET", url+"/", "", nil); res.StatusCode != 200 {
		t.Fatalf("a passing request: %d", res.StatusCode)
	}
	if calls, trapped := obs.counts(); calls < 1 || trapped != 0 {
		t.Errorf("after a passing request: %d calls, %d trapped; want at least one call and no trap", calls, trapped)
	}
	if res, _, _ := do(t, "GET", url+"/", "", map[string]string{"X-Unreachable": "1"}); res.StatusCode != 500 {
		t.Fatalf("a trapping request: %d", res.StatusCode)
	}
	if _, trapped := obs.counts(); trapped != 1 {
		t.Errorf("after a trap: %d trapped, want 1", trapped)
	}
}
