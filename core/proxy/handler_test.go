package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/tunnel"
)

// fakeConnector answers one tunnel stream the way a connector would.
type fakeConnector func(c net.Conn, hdr tunnel.RequestHeader, req *http.Request)

// seen is what a fake connector received.
type seen struct {
	hdr    tunnel.RequestHeader
	header http.Header
	body   string
}

// fakeDialer hands out net.Pipe streams to fake connectors, in order,
// skipping those in avoid, as the registry would.
type fakeDialer struct {
	ids        []string
	connectors map[string]fakeConnector

	mu       sync.Mutex
	dials    []string
	seen     []seen
	released atomic.Int64
}

func (d *fakeDialer) DialGroup(ctx context.Context, group string, avoid []string, reuse bool) (net.Conn, string, func(), error) {
	for _, id := range d.ids {
		if slices.Contains(avoid, id) {
			continue
		}
		d.mu.Lock()
		d.dials = append(d.dials, id)
		d.mu.Unlock()
		gw, conn := net.Pipe()
		go d.serve(conn, d.connectors[id])
		var once sync.Once
		return gw, id, func() { once.Do(func() { d.released.Add(1) }) }, nil
	}
	return nil, "", nil, fmt.Errorf("%w in group %q", registry.ErrNoConnector, group)
}

func (d *fakeDialer) serve(c net.Conn, fc fakeConnector) {
	defer c.Close()
	if fc == nil { // a dead session: the stream closes at once
		return
	}
	br := bufio.NewReader(c)
	hdr, err := tunnel.ReadRequestHeader(br)
	if err != nil {
		return
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	body, _ := io.ReadAll(req.Body)
	d.mu.Lock()
	d.seen = append(d.seen, seen{hdr: hdr, header: req.Header, body: string(body)})
	d.mu.Unlock()
	fc(c, hdr, req)
	_, _ = io.Copy(io.Discard, br) // the gateway closes first
}

func (d *fakeDialer) dialed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.dials)
}

func answer(status int, headers, body string) fakeConnector {
	return func(c net.Conn, hdr tunnel.RequestHeader, req *http.Request) {
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n\r\n%s", status, http.StatusText(status), headers, len(body), body)
	}
}

var (
	ok         = answer(200, "X-App: yes\r\n", "hello from the backend")
	unreach    = answer(502, tunnel.ErrorHeader+": "+tunnel.ErrCodeBackend+"\r\n", "dial tcp: connection refused")
	timeout    = answer(502, tunnel.ErrorHeader+": "+tunnel.ErrCodeTimeout+"\r\n", "timeout awaiting response headers")
	unknownApp = answer(502, tunnel.ErrorHeader+": "+tunnel.ErrCodeUnknownApp+"\r\n", "connector has no app")
	// dies after reading the request, before any response byte
	dies fakeConnector = func(c net.Conn, _ tunnel.RequestHeader, _ *http.Request) { c.Close() }
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name       string
		ids        []string // connectors in the order the dialer offers them
		connectors map[string]fakeConnector
		method     string
		host       string
		body       string
		header     http.Header
		wantStatus int
		wantBody   string
		wantDials  []string
	}{
		{name: "unknown host", host: "nope.example.com", wantStatus: 404, wantBody: "No such app"},
		{name: "relayed", ids: []string{"a"}, connectors: map[string]fakeConnector{"a": ok},
			wantStatus: 200, wantBody: "hello from the backend", wantDials: []string{"a"}},
		{name: "no connector", wantStatus: 503, wantBody: "App unavailable"},
		{name: "GET retried after a dead stream", ids: []string{"a", "b"}, connectors: map[string]fakeConnector{"a": nil, "b": ok},
			wantStatus: 200, wantBody: "hello from the backend", wantDials: []string{"a", "b"}},
		{name: "GET retried after the connector died before answering", ids: []string{"a", "b"}, connectors: map[string]fakeConnector{"a": dies, "b": ok},
			wantStatus: 200, wantBody: "hello from the backend", wantDials: []string{"a", "b"}},
		{name: "GET retried on unknown app", ids: []string{"a", "b"}, connectors: map[string]fakeConnector{"a": unknownApp, "b": ok},
			wantStatus: 200, wantBody: "hello from the backend", wantDials: []string{"a", "b"}},
		{name: "POST with a body is not retried", method: "POST", body: "form=1", ids: []string{"a", "b"},
			connectors: map[string]fakeConnector{"a": dies, "b": ok}, wantStatus: 502, wantBody: "App not answering", wantDials: []string{"a"}},
		{name: "at most three attempts", ids: []string{"a", "b", "c", "d"},
			connectors: map[string]fakeConnector{"a": unreach, "b": unreach, "c": unreach, "d": ok},
			wantStatus: 502, wantBody: "App not answering", wantDials: []string{"a", "b", "c"}},
		{name: "backend timeout is a 504, not retried", ids: []string{"a", "b"}, connectors: map[string]fakeConnector{"a": timeout, "b": ok},
			wantStatus: 504, wantBody: "App too slow", wantDials: []string{"a"}},
		{name: "POST body relayed", method: "POST", body: "form=1", ids: []string{"a"}, connectors: map[string]fakeConnector{"a": ok},
			wantStatus: 200, wantBody: "hello from the backend", wantDials: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDialer{ids: tt.ids, connectors: tt.connectors}
			table := NewTable(5, testRoutes)
			srv := httptest.NewServer(NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler)))
			defer srv.Close()

			method := tt.method
			if method == "" {
				method = "GET"
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(method, srv.URL+"/app/page?q=1", body)
			req.Host = "demo.example.com"
			if tt.host != "" {
				req.Host = tt.host
			}
			req.Header.Set("X-Gatehouse-User", "admin@example.com") // spoofed
			req.Header.Set("X-Request-Id", "client-chosen")
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus || !strings.Contains(string(got), tt.wantBody) {
				t.Fatalf("%d %q, want %d containing %q", res.StatusCode, got, tt.wantStatus, tt.wantBody)
			}
			rid := res.Header.Get("X-Request-Id")
			if len(rid) != 16 || rid == "client-chosen" {
				t.Fatalf("X-Request-Id = %q", rid)
			}
			if res.StatusCode != 200 && !strings.Contains(string(got), rid) {
				t.Fatalf("error page does not quote request id %s: %q", rid, got)
			}
			if res.Header.Get(tunnel.ErrorHeader) != "" {
				t.Fatalf("tunnel error header leaked to the client")
			}
			if !slices.Equal(d.dialed(), tt.wantDials) {
				t.Fatalf("dialed %v, want %v", d.dialed(), tt.wantDials)
			}
			deadline := time.Now().Add(5 * time.Second)
			for d.released.Load() != int64(len(tt.wantDials)) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := d.released.Load(); n != int64(len(tt.wantDials)) {
				t.Fatalf("%d of %d streams released", n, len(tt.wantDials))
			}
			if res.StatusCode == 200 {
				if res.Header.Get("X-App") != "yes" {
					t.Fatalf("backend header lost: %v", res.Header)
				}
				d.mu.Lock()
				s := d.seen[len(d.seen)-1]
				d.mu.Unlock()
				want := tunnel.RequestHeader{App: "app", RequestID: rid, ConfigVersion: 5}
				if s.hdr.App != want.App || s.hdr.RequestID != want.RequestID || s.hdr.ConfigVersion != want.ConfigVersion || s.hdr.Envelope != nil {
					t.Fatalf("connector got %+v, want %+v", s.hdr, want)
				}
				for k, v := range map[string]string{
					"X-Request-Id": rid, "X-Forwarded-Host": "demo.example.com", "X-Forwarded-Proto": "https", "X-Gatehouse-User": "",
				} {
					if got := s.header.Get(k); got != v {
						t.Errorf("connector saw %s = %q, want %q", k, got, v)
					}
				}
				if s.body != tt.body {
					t.Errorf("connector got body %q, want %q", s.body, tt.body)
				}
			}
		})
	}
}
