package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/internal/accesslog"
	"github.com/gatehouse/gatehouse/tunnel"
)

// accessBuffer is a bytes.Buffer safe for the server's goroutines.
type accessBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *accessBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *accessBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("access line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestAccessLog: each routed request gets one JSON line with its request
// id (the one in the response's X-Request-Id), app, host, method, path
// without the query, status, bytes, connector and client IP, on the lean
// relay and on ReverseProxy, relayed or answered by the gateway; the
// query only with Query; unrouted requests and apps without an access
// log get none. Through slog's JSON handler and through internal/accesslog's.
func TestAccessLog(t *testing.T) {
	for i, lean := range []bool{true, false, true, false} {
		for _, query := range []bool{false, true} {
			var buf accessBuffer
			// The gateway's own handler (its fast path) the second time round.
			var lh slog.Handler = slog.NewJSONHandler(&buf, nil)
			if i >= 2 {
				lh = accesslog.NewHandler(&buf, "json", nil)
			}
			al := &AccessLog{Logger: slog.New(lh), Query: query}
			routes := []Route{
				{App: "app", Group: "g", Host: "demo.example.com", Prefix: "/", AccessLog: al},
				{App: "quiet", Group: "g", Host: "quiet.example.com", Prefix: "/"},
			}
			table := NewTable(1, routes)
			d := &fakeDialer{ids: []string{"a"}, connectors: map[string]fakeConnector{"a": ok}}
			h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
			h.noLean = !lean
			srv := httptest.NewServer(h)
			var ids []string
			do := func(method, host, body string) {
				req, _ := http.NewRequest(method, srv.URL+"/page?token=secret", strings.NewReader(body))
				req.Host = host
				req.Header.Set("X-Request-Id", "client-chosen")
				res, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				ids = append(ids, res.Header.Get("X-Request-Id"))
			}
			do("POST", "demo.example.com", "form=1")
			do("GET", "nope.example.com", "")
			do("GET", "quiet.example.com", "")
			d.ids = nil // no connector: the gateway answers 503
			do("GET", "demo.example.com", "")
			srv.Close()

			lines := buf.lines(t)
			if len(lines) != 2 {
				t.Fatalf("lean %v: %d access lines, want 2 (unknown host and quiet app have none): %v", lean, len(lines), lines)
			}
			wantPath := "/page"
			if query {
				wantPath = "/page?token=secret"
			}
			relayed, refused := lines[0], lines[1]
			for k, want := range map[string]any{"msg": "access", "request_id": ids[0], "app": "app", "host": "demo.example.com",
				"method": "POST", "path": wantPath, "status": 200.0, "bytes_in": 6.0, "bytes_out": float64(len("hello from the backend")),
				"connector": "a", "client_ip": "127.0.0.1", "user": ""} {
				if relayed[k] != want {
					t.Errorf("lean %v query %v: relayed line %s = %v, want %v", lean, query, k, relayed[k], want)
				}
			}
			if refused["request_id"] != ids[3] || refused["status"] != 503.0 || refused["connector"] != "" {
				t.Errorf("lean %v: refused request's line %v (id %s)", lean, refused, ids[3])
			}
			if ids[0] == "client-chosen" || ids[0] == ids[3] {
				t.Errorf("request ids %v: want the gateway's own, one per request", ids)
			}
		}
	}
}

// BenchmarkAccessLog: the small-response relay with metrics and a JSON
// access log on (to io.Discard; through slog's handler, on-slog, or the
// gateway's, on), against both off: the cost of one request's observation.
func BenchmarkAccessLog(b *testing.B) {
	for _, name := range []string{"off", "on-slog", "on"} {
		b.Run(name, func(b *testing.B) {
			routes := append([]Route(nil), testRoutes...)
			if name != "off" {
				m := metrics.New("bench")
				h := accesslog.NewHandler(io.Discard, "json", nil)
				if name == "on-slog" {
					h = slog.NewJSONHandler(io.Discard, nil)
				}
				al := &AccessLog{Logger: slog.New(h)}
				for i := range routes {
					routes[i].Observer, routes[i].AccessLog = m.App(routes[i].App), al
				}
			}
			d := newCannedDialer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100))
			table := NewTable(5, routes)
			h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
			req := httptest.NewRequest("GET", "https://demo.example.com/app/bytes/100?q=1", nil)
			req.RemoteAddr = "127.0.0.1:5555"
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req.Clone(context.Background()))
				if w.Code != 200 {
					b.Fatalf("%d %q", w.Code, w.Body)
				}
			}
		})
	}
}

// TestAccessLogUpgrade: an upgraded connection gets its one access line,
// status 101, when it closes, not when the 101 is sent.
func TestAccessLogUpgrade(t *testing.T) {
	var buf accessBuffer
	al := &AccessLog{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	table := NewTable(1, []Route{{App: "ws", Group: "g", Host: "ws.example.com", Prefix: "/", AccessLog: al}})
	echo := func(c net.Conn, _ tunnel.RequestHeader, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		_, _ = io.Copy(c, c) // echo until the gateway closes
	}
	d := &fakeDialer{ids: []string{"a"}, connectors: map[string]fakeConnector{"a": echo}}
	srv := httptest.NewServer(NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /chat HTTP/1.1\r\nHost: ws.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(c, "ping")
	got := make([]byte, 4)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo: %q %v", got, err)
	}
	if n := len(buf.lines(t)); n != 0 {
		t.Fatalf("%d access lines while the connection is open, want 0", n)
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(buf.lines(t)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	lines := buf.lines(t)
	if len(lines) != 1 || lines[0]["status"] != 101.0 || lines[0]["path"] != "/chat" || lines[0]["connector"] != "a" {
		t.Fatalf("access lines after close: %v", lines)
	}
}
