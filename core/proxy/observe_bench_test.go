package proxy

import (
	"context"
	"github.com/gatehouse/gatehouse/internal/cputime"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/internal/accesslog"
	"github.com/gatehouse/gatehouse/internal/linebuf"
)

// What "on" costs per request at the gateway, as the gateway runs it:
// the app's metrics (package metrics) and a JSON access log through
// accesslog.Handler onto a linebuf.Writer over a file (/dev/null), against
// neither. The cases: off, metrics, log, on (both).

var observeCases = []string{"off", "metrics", "log", "on"}

// observeRoute is route with what case c turns on; the returned func
// stops the access log's writer.
func observeRoute(tb testing.TB, route Route, c string) (Route, func()) {
	stop := func() {}
	if c == "metrics" || c == "on" {
		route.Observer = metrics.New("bench").App(route.App)
	}
	if c == "log" || c == "on" {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			tb.Fatal(err)
		}
		lb := linebuf.New(f, 100*time.Millisecond)
		stop = func() { lb.Close(); f.Close() }
		route.AccessLog = &AccessLog{Logger: slog.New(accesslog.NewHandler(lb, "json", nil))}
	}
	return route, stop
}

// sinkWriter is a ResponseWriter that keeps nothing: the observation is
// all that is measured.
type sinkWriter struct{ h http.Header }

func (w *sinkWriter) Header() http.Header         { return w.h }
func (w *sinkWriter) WriteHeader(int)             {}
func (w *sinkWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkObserve is the observation of one relayed 100-byte response
// alone, as the handler and Transport drive it: observe, the trip through
// the tunnel (toBackend, via), the head and body written through the
// observed writer, done.
func BenchmarkObserve(b *testing.B) {
	body := []byte(strings.Repeat("x", 100))
	for _, c := range observeCases {
		b.Run(c, func(b *testing.B) {
			route, stop := observeRoute(b, Route{App: "demo", Group: "g", Host: "demo.localhost", Prefix: "/"}, c)
			defer stop()
			r := httptest.NewRequest("GET", "https://demo.localhost:8443/bytes/100", nil)
			r.RemoteAddr = "127.0.0.1:50123"
			sink := &sinkWriter{h: http.Header{}}
			b.ReportAllocs()
			cpu := cputime.Self()
			for b.Loop() {
				w, obs := observe(sink, r, &route, "0123456789abcdef0123456789abcdef")
				start := time.Now()
				obs.via("c-0123456789")
				obs.toBackend(start)
				w.WriteHeader(200)
				_, _ = w.Write(body)
				obs.done()
			}
			cputime.Report(b, cpu)
		})
	}
}

// BenchmarkObserveParallel is BenchmarkObserve from every P at once: what
// the shared counters, histograms and the log's lock cost under load.
func BenchmarkObserveParallel(b *testing.B) {
	body := []byte(strings.Repeat("x", 100))
	for _, c := range observeCases {
		b.Run(c, func(b *testing.B) {
			route, stop := observeRoute(b, Route{App: "demo", Group: "g", Host: "demo.localhost", Prefix: "/"}, c)
			defer stop()
			b.ReportAllocs()
			cpu := cputime.Self()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest("GET", "https://demo.localhost:8443/bytes/100", nil)
				r.RemoteAddr = "127.0.0.1:50123"
				sink := &sinkWriter{h: http.Header{}}
				for pb.Next() {
					w, obs := observe(sink, r, &route, "0123456789abcdef0123456789abcdef")
					start := time.Now()
					obs.via("c-0123456789")
					obs.toBackend(start)
					w.WriteHeader(200)
					_, _ = w.Write(body)
					obs.done()
				}
			})
			cputime.Report(b, cpu)
		})
	}
}

// BenchmarkHandlerObserve is the whole handler on the lean relay (a canned
// connector on a pipe) with each case, as BenchmarkHandlerSmall.
func BenchmarkHandlerObserve(b *testing.B) {
	for _, c := range observeCases {
		b.Run(c, func(b *testing.B) {
			route, stop := observeRoute(b, Route{App: "demo", Group: "g", Host: "demo.localhost", Prefix: "/"}, c)
			defer stop()
			d := newCannedDialer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100))
			table := NewTable(5, []Route{route})
			h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
			req := httptest.NewRequest("GET", "https://demo.localhost/bytes/100", nil)
			req.RemoteAddr = "127.0.0.1:50123"
			req.Header.Set("User-Agent", "wrk")
			b.ReportAllocs()
			cpu := cputime.Self()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req.Clone(context.Background()))
				if w.Code != 200 || w.Body.Len() != 100 {
					b.Fatalf("%d %q", w.Code, w.Body)
				}
			}
			cputime.Report(b, cpu)
		})
	}
}
