package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logSink keeps the log records, for tests that read what a guest
// logged or how the host explained a failure.
type logSink struct {
	mu      sync.Mutex
	records []map[string]string
	attrs   []slog.Attr
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	for _, a := range s.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	s.mu.Lock()
	s.records = append(s.records, m)
	s.mu.Unlock()
	return nil
}
func (s *logSink) WithAttrs(as []slog.Attr) slog.Handler {
	return &sinkView{s: s, attrs: as}
}
func (s *logSink) WithGroup(string) slog.Handler { return s }

// sinkView is the sink with attributes from Logger.With.
type sinkView struct {
	s     *logSink
	attrs []slog.Attr
}

func (v *sinkView) Enabled(ctx context.Context, l slog.Level) bool { return v.s.Enabled(ctx, l) }
func (v *sinkView) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(v.attrs...)
	return v.s.Handle(ctx, r)
}
func (v *sinkView) WithAttrs(as []slog.Attr) slog.Handler {
	return &sinkView{s: v.s, attrs: append(append([]slog.Attr{}, v.attrs...), as...)}
}
func (v *sinkView) WithGroup(string) slog.Handler { return v }

// find returns the records whose attributes include all of want.
func (s *logSink) find(want map[string]string) []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]string
	for _, r := range s.records {
		ok := true
		for k, v := range want {
			if k == "msg~" {
				ok = ok && strings.Contains(r["msg"], v)
			} else if r[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// observations are what the probe logged for one request id.
func (s *logSink) observations(rid string) []string {
	var out []string
	for _, r := range s.find(map[string]string{"request_id": rid, "msg~": "obs "}) {
		out = append(out, strings.TrimPrefix(r["msg"], "obs "))
	}
	return out
}

type harness struct {
	rt   *Runtime
	logs *logSink
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	logs := &logSink{}
	rt, err := NewRuntime(context.Background(), Options{CacheDir: compileCacheDir(tb), Logger: slog.New(logs)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rt.Close(context.Background()) })
	return &harness{rt: rt, logs: logs}
}

// load loads the module at path, pinned by its actual sha256, after edit
// adjusts the spec.
func (h *harness) load(tb testing.TB, path string, edit func(*Spec)) *Filter {
	tb.Helper()
	s := Spec{Name: "test", App: "demo", Path: path, SHA256: fileSHA256(tb, path), PoolSize: 2, Timeout: 10 * time.Second} // generous: tests run under -race on a busy machine; timeout tests set their own
	if edit != nil {
		edit(&s)
	}
	f, err := h.rt.Load(context.Background(), s)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	tb.Cleanup(func() { _ = f.Close(context.Background()) })
	return f
}

// seen is what the echo app received.
type seen struct {
	Method, URI, Host string
	Header            http.Header
	Body              string
	ContentLength     int64
}

// echoApp answers with what it received, as JSON, and a few headers a
// filter may override.
func echoApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-App", "echo")
		w.Header().Set("Server", "app/1.0")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{r.Method, r.URL.RequestURI(), r.Host, r.Header, string(body), r.ContentLength})
	})
}

// server serves h over real HTTP on loopback.
func server(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

var ridSeq atomic.Int64

// newRID returns a fresh request id for a test request.
func newRID() string { return fmt.Sprintf("rid-%d", ridSeq.Add(1)) }

// do sends a request with X-Request-Id and returns the response with its
// body read.
func do(tb testing.TB, method, url string, body string, header map[string]string) (*http.Response, string, string) {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	rid := newRID()
	req.Header.Set("X-Request-Id", rid)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("reading the response of %s %s: %v", method, url, err)
	}
	return res, string(b), rid
}

func decodeSeen(tb testing.TB, body string) seen {
	tb.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		tb.Fatalf("the app's answer %q is not JSON: %v", body, err)
	}
	return s
}
