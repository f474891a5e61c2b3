package proxy

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/metrics"
)

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	started  int
	finished []finished
}

type finished struct {
	method                  string
	status                  int
	in, out                 int64
	total, gateway, backend time.Duration
}

func (r *recorder) Start() { r.mu.Lock(); r.started++; r.mu.Unlock() }
func (r *recorder) Finish(_ time.Time, method string, status int, in, out int64, total, gateway, backend time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = append(r.finished, finished{method, status, in, out, total, gateway, backend})
}

// TestObserver: each routed request is reported once with its method,
// final status, body bytes and the split of its time, on the lean relay
// and on ReverseProxy, for relayed requests and for those the gateway
// answers itself; unrouted requests are not.
func TestObserver(t *testing.T) {
	for _, lean := range []bool{true, false} {
		rec := &recorder{}
		routes := []Route{{App: "app", Group: "g", Host: "demo.example.com", Prefix: "/", Observer: rec}}
		table := NewTable(1, routes)
		d := &fakeDialer{ids: []string{"a"}, connectors: map[string]fakeConnector{"a": ok}}
		h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
		h.noLean = !lean
		srv := httptest.NewServer(h)
		do := func(method, host, body string) int {
			req, _ := http.NewRequest(method, srv.URL+"/page", strings.NewReader(body))
			req.Host = host
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode
		}
		do("POST", "demo.example.com", "form=1")
		do("GET", "nope.example.com", "")
		d.ids = nil // no connector: the gateway answers 503
		do("GET", "demo.example.com", "")
		srv.Close()

		rec.mu.Lock()
		if rec.started != 2 || len(rec.finished) != 2 {
			t.Fatalf("lean %v: started %d, finished %d; want 2 and 2 (the unknown host is not an app's)", lean, rec.started, len(rec.finished))
		}
		relayed, refused := rec.finished[0], rec.finished[1]
		rec.mu.Unlock()
		if relayed.method != "POST" || relayed.status != 200 || relayed.in != 6 || relayed.out != int64(len("hello from the backend")) {
			t.Errorf("lean %v: relayed request reported as %+v", lean, relayed)
		}
		if relayed.backend <= 0 || relayed.gateway <= 0 || relayed.gateway+relayed.backend > relayed.total {
			t.Errorf("lean %v: relayed request's times do not add up: %+v", lean, relayed)
		}
		if refused.status != 503 || refused.out == 0 {
			t.Errorf("lean %v: a request without a connector reported as %+v", lean, refused)
		}
	}
}

func TestObserverAllocations(t *testing.T) {
	route := &Route{Observer: noop{}}
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(1000, func() {
		ow, o := observe(w, r, route, "rid")
		ow.WriteHeader(204)
		o.toBackend(time.Now())
		o.done()
	}); n != 0 {
		t.Errorf("observing a request without a body costs %v allocations, want 0", n)
	}
}

type noop struct{}

func (noop) Start() {}
func (noop) Finish(time.Time, string, int, int64, int64, time.Duration, time.Duration, time.Duration) {
}

// BenchmarkHandlerObserved is BenchmarkHandlerSmall's lean case with and
// without the app's metrics (package metrics), to see what they cost.
func BenchmarkHandlerObserved(b *testing.B) {
	for _, observed := range []bool{false, true} {
		name := "off"
		if observed {
			name = "metrics"
		}
		b.Run(name, func(b *testing.B) {
			d := newCannedDialer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100))
			route := Route{App: "app", Group: "g", Host: "demo.example.com", Prefix: "/"}
			if observed {
				route.Observer = metrics.New("bench").App("app")
			}
			table := NewTable(5, []Route{route})
			h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
			req := httptest.NewRequest("GET", "https://demo.example.com/bytes/100", nil)
			req.RemoteAddr = "127.0.0.1:5555"
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req.Clone(context.Background()))
				if w.Code != 200 || w.Body.Len() != 100 {
					b.Fatalf("%d %q", w.Code, w.Body)
				}
			}
		})
	}
}
