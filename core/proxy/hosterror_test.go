package proxy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// markingWriter stands for a WASM filter's writer: it records whether the
// gateway said the response is its own error page.
type markingWriter struct {
	http.ResponseWriter
	marked *atomic.Bool
}

func (m markingWriter) MarkHostError()              { m.marked.Store(true) }
func (m markingWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

func markingFilter(marked *atomic.Bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(markingWriter{w, marked}, r)
		})
	}
}

// The gateway's error pages (no connector, backend down, timeout) are
// marked as the host's error for an app's filters (is_error in
// handle_response); the backend's own answers, 5xx included, are not.
func TestErrorPagesAreMarkedForFilters(t *testing.T) {
	backend500 := answer(500, "X-App: yes\r\n", "the backend's own error")
	for _, tc := range []struct {
		name   string
		ids    []string
		fc     fakeConnector
		status int
		marked bool
	}{
		{"a normal answer", []string{"a"}, ok, 200, false},
		{"the backend's own 500", []string{"a"}, backend500, 500, false},
		{"backend down", []string{"a"}, unreach, 502, true},
		{"timeout", []string{"a"}, timeout, 504, true},
		{"no connector", nil, nil, 503, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var marked atomic.Bool
			route := Route{App: "app", Group: "g", Host: "demo.example.com", Prefix: "/", Filters: markingFilter(&marked)}
			d := &fakeDialer{ids: tc.ids, connectors: map[string]fakeConnector{"a": tc.fc}}
			table := NewTable(1, []Route{route})
			srv := httptest.NewServer(NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler)))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
			req.Host = "demo.example.com"
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %q", res.StatusCode, tc.status, body)
			}
			if marked.Load() != tc.marked {
				t.Errorf("marked as the gateway's error: %v, want %v (body %q)", marked.Load(), tc.marked, body)
			}
		})
	}
}
