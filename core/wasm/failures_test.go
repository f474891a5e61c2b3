package wasm

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkFailed asserts a clean 500 naming the request id, and that the host
// logged the failure of that request.
func checkFailed(t *testing.T, h *harness, res *http.Response, body, rid string) {
	t.Helper()
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500; body %q", res.StatusCode, body)
	}
	if !strings.Contains(body, "request id "+rid) || res.Header.Get("X-App") != "" {
		t.Errorf("the 500 is %q with header %v: want the request id and nothing from the app", body, res.Header)
	}
	if logs := h.logs.find(map[string]string{"request_id": rid, "msg": "wasm filter failed; instance discarded"}); len(logs) != 1 {
		t.Errorf("failure records for %s: %v", rid, logs)
	}
}

// checkServes asserts that an ordinary request is served.
func checkServes(t *testing.T, url string, header map[string]string) {
	t.Helper()
	res, body, _ := do(t, "GET", url+"/after", "", header)
	if res.StatusCode != 200 || decodeSeen(t, body).URI != "/after" {
		t.Fatalf("the next request got %d %q", res.StatusCode, body)
	}
}

func TestGoGuestViolationsTrap(t *testing.T) {
	h, url := probeServer(t, func(s *Spec) { s.Timeout = 300 * time.Millisecond; s.MemoryPages = 128 })
	for _, c := range []string{
		"v-request-header-after-next", "v-uri-after-next", "v-read-zero", "v-header-kind", "v-body-kind",
		"v-trailer-set", "v-header-injection", "v-header-name", "v-method", "v-uri-dot", "v-uri-absolute",
		"v-status", "panic", "loop", "oom",
	} {
		t.Run(c, func(t *testing.T) {
			res, body, rid := do(t, "GET", url+"/", "", map[string]string{"X-Case": c})
			checkFailed(t, h, res, body, rid)
			checkServes(t, url, map[string]string{"X-Case": "pass"})
		})
	}
	t.Run("the guest's panic message is in the log", func(t *testing.T) {
		_, _, rid := do(t, "GET", url+"/", "", map[string]string{"X-Case": "panic"})
		logs := h.logs.find(map[string]string{"request_id": rid, "msg": "wasm filter failed; instance discarded"})
		if len(logs) != 1 || !strings.Contains(logs[0]["guest_output"], "the probe panics on purpose") {
			t.Errorf("failure records: %v", logs)
		}
	})
}

// After the response was sent unbuffered, a violation in handle_response
// cannot become a 500: the host logs it and aborts the response.
func TestViolationAfterUnbufferedResponse(t *testing.T) {
	h, url := probeServer(t, nil)
	for _, c := range []string{"v-response-header-unbuffered", "v-status-unbuffered", "v-body-unbuffered"} {
		t.Run(c, func(t *testing.T) {
			req, _ := http.NewRequest("GET", url+"/", nil)
			rid := newRID()
			req.Header.Set("X-Request-Id", rid)
			req.Header.Set("X-Case", c)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
			// The client may retry once: nothing reached the wire yet.
			logs := h.logs.find(map[string]string{"request_id": rid, "call": "handle_response"})
			if len(logs) == 0 || !strings.Contains(logs[0]["err"], "enable buffer_response") {
				t.Errorf("failure records: %v", logs)
			}
			checkServes(t, url, map[string]string{"X-Case": "pass"})
		})
	}
}

func TestWATGuestFailures(t *testing.T) {
	h := newHarness(t)
	f := h.load(t, watFile(t, "edge"), func(s *Spec) { s.Timeout = 200 * time.Millisecond; s.MemoryPages = 64 })
	url := server(t, f.Wrap(echoApp())).URL
	for _, c := range []string{"X-Loop", "X-Grow", "X-Unreachable", "X-Late-Header", "X-Stack", "X-Oob"} {
		t.Run(c, func(t *testing.T) {
			res, body, rid := do(t, "GET", url+"/oob-needs-a-long-uri", "", map[string]string{c: "1"})
			checkFailed(t, h, res, body, rid)
			checkServes(t, url, nil)
		})
	}
	t.Run("a log message out of memory is ignored, not a trap", func(t *testing.T) {
		res, body, _ := do(t, "GET", url+"/", "", map[string]string{"X-Log-Oob": "1"})
		if res.StatusCode != 200 || decodeSeen(t, body).Header.Get("X-Wat") != "1" {
			t.Errorf("got %d %q", res.StatusCode, body)
		}
	})
	t.Run("the deadline is reported as such", func(t *testing.T) {
		_, _, rid := do(t, "GET", url+"/", "", map[string]string{"X-Loop": "1"})
		logs := h.logs.find(map[string]string{"request_id": rid, "err": errDeadline.Error()})
		if len(logs) != 1 {
			t.Errorf("no deadline record for %s", rid)
		}
	})
}

func TestRepeatedFailuresStopTheFilterUntilReload(t *testing.T) {
	h := newHarness(t)
	path := watFile(t, "edge")
	f := h.load(t, path, func(s *Spec) { s.MaxFailures = 3 })
	url := server(t, f.Wrap(echoApp())).URL
	// Two failures, a success, two failures: not consecutive.
	for _, hdr := range []string{"X-Unreachable", "X-Unreachable", "X-None", "X-Unreachable", "X-Unreachable"} {
		do(t, "GET", url+"/", "", map[string]string{hdr: "1"})
	}
	if f.Stopped() {
		t.Fatal("the filter stopped after failures that were not consecutive")
	}
	do(t, "GET", url+"/", "", map[string]string{"X-Unreachable": "1"})
	if !f.Stopped() {
		t.Fatal("the filter did not stop after 3 consecutive failures")
	}
	res, body, rid := do(t, "GET", url+"/", "", nil)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, rid) {
		t.Errorf("a stopped filter answered %d %q", res.StatusCode, body)
	}
	if logs := h.logs.find(map[string]string{"msg~": "stopped after consecutive failures"}); len(logs) != 1 {
		t.Errorf("stop records: %v", logs)
	}
	reloaded := h.load(t, path, nil)
	checkServes(t, server(t, reloaded.Wrap(echoApp())).URL, nil)
}

func TestNoFreeInstanceIs503(t *testing.T) {
	h := newHarness(t)
	f := h.load(t, watFile(t, "edge"), func(s *Spec) { s.PoolSize = 1; s.QueueTimeout = 50 * time.Millisecond })
	entered, release := make(chan struct{}), make(chan struct{})
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		echoApp().ServeHTTP(w, r)
	})
	url := server(t, f.Wrap(app)).URL
	var wg sync.WaitGroup
	wg.Go(func() {
		if res, _, _ := do(t, "GET", url+"/slow", "", nil); res.StatusCode != 200 {
			t.Errorf("the slow request got %d", res.StatusCode)
		}
	})
	<-entered // the only instance is pinned until handle_response
	res, body, rid := do(t, "GET", url+"/", "", nil)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, rid) {
		t.Errorf("got %d %q, want 503 with the request id", res.StatusCode, body)
	}
	close(release)
	wg.Wait()
	checkServes(t, url, nil)
	if f.Stopped() {
		t.Error("being busy counted as a failure")
	}
}

func TestInstanceState(t *testing.T) {
	h := newHarness(t)
	probe := goGuest(t, "./testdata/probe")
	counters := func(f *Filter, header map[string]string, n int) []string {
		url := server(t, f.Wrap(echoApp())).URL
		var got []string
		for range n {
			_, _, rid := do(t, "GET", url+"/", "", header)
			got = append(got, h.logs.observations(rid)...)
		}
		return got
	}
	count := map[string]string{"X-Case": "global-counter"}
	t.Run("a pooled instance keeps its globals", func(t *testing.T) {
		f := h.load(t, probe, func(s *Spec) { s.PoolSize = 1 })
		if got := strings.Join(counters(f, count, 3), " "); got != "counter=1 counter=2 counter=3" {
			t.Errorf("got %s", got)
		}
	})
	t.Run("FreshPerRequest gives every request a new instance", func(t *testing.T) {
		f := h.load(t, probe, func(s *Spec) { s.PoolSize = 1; s.FreshPerRequest = true })
		if got := strings.Join(counters(f, count, 3), " "); got != "counter=1 counter=1 counter=1" {
			t.Errorf("got %s", got)
		}
	})
	t.Run("an instance that grew past RecyclePages is replaced", func(t *testing.T) {
		f := h.load(t, probe, func(s *Spec) { s.PoolSize = 1; s.MemoryPages = 1024 })
		in := <-f.pool.idle
		f.spec.RecyclePages = in.pages() + 32 // 2 MiB of room; the case grows 8 MiB
		f.pool.idle <- in
		url := server(t, f.Wrap(echoApp())).URL
		var got []string
		for _, c := range []string{"global-counter", "global-counter", "grow", "global-counter"} {
			_, _, rid := do(t, "GET", url+"/", "", map[string]string{"X-Case": c})
			got = append(got, h.logs.observations(rid)...)
		}
		want := "counter=1 counter=2 grew 8 MiB handle_response ctx=0 is_error=0 counter=1"
		if strings.Join(got, " ") != want {
			t.Errorf("got %q, want %q", strings.Join(got, " "), want)
		}
	})
}

func TestCloseDrains(t *testing.T) {
	h := newHarness(t)
	f := h.load(t, watFile(t, "edge"), nil)
	entered, release := make(chan struct{}), make(chan struct{})
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		echoApp().ServeHTTP(w, r)
	})
	url := server(t, f.Wrap(app)).URL
	var wg sync.WaitGroup
	wg.Go(func() {
		if res, _, _ := do(t, "GET", url+"/slow", "", nil); res.StatusCode != 200 {
			t.Errorf("the in-flight request got %d", res.StatusCode)
		}
	})
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- f.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if res, _, _ := do(t, "GET", url+"/", "", nil); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a closed filter answered %d", res.StatusCode)
	}
}

// Host limits broken by the client or the app are answered without
// counting against the guest.
func TestBodyLimits(t *testing.T) {
	h, url := probeServer(t, func(s *Spec) { s.MaxBodyBytes = 100; s.MaxFailures = 1 })
	res, body, rid := do(t, "POST", url+"/", strings.Repeat("x", 101), map[string]string{"X-Case": "read-request-buffered"})
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, rid) {
		t.Errorf("a request body over max_body_bytes got %d %q, want 413", res.StatusCode, body)
	}
	res, body, rid = do(t, "GET", url+"/"+strings.Repeat("y", 200), "", map[string]string{"X-Case": "buffered-untouched"})
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, rid) {
		t.Errorf("a response over max_body_bytes got %d %q, want 502", res.StatusCode, body)
	}
	if obs := h.logs.observations(rid); len(obs) != 1 || obs[0] != "handle_response ctx=43 is_error=1" {
		t.Errorf("observed %q", obs)
	}
	checkServes(t, url, map[string]string{"X-Case": "pass"}) // MaxFailures is 1: nothing counted
}
