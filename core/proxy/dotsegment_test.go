package proxy

import (
	"bufio"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/core/target"
	"github.com/gatehouse/gatehouse/tunnel"
)

// TestResolve sends raw request heads through the handler and checks what
// reaches the connector: which app, with which path and Host, or which
// page the gateway answered with instead. portal.example.com has a "/"
// app, /hr on a case-folding backend and /keep, which keeps escaped
// slashes; wiki.example.com is another host on the same gateway.
func TestResolve(t *testing.T) {
	var mu sync.Mutex
	var got []string // "app URI Host" for each request the connector saw
	record := func(c net.Conn, hdr tunnel.RequestHeader, req *http.Request) {
		mu.Lock()
		got = append(got, hdr.App+" "+req.RequestURI+" "+req.Host)
		mu.Unlock()
		ok(c, hdr, req)
	}
	table := NewTable(1, []Route{
		{App: "root", Group: "g", Host: "portal.example.com", Prefix: "/"},
		{App: "hr", Group: "g", Host: "portal.example.com", Prefix: "/hr", Paths: target.Options{FoldCase: true}},
		{App: "keep", Group: "g", Host: "portal.example.com", Prefix: "/keep", Paths: target.Options{KeepEscapedSlashes: true}},
		{App: "wiki", Group: "g", Host: "wiki.example.com", Prefix: "/"},
	})
	table.Reserved = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reserved", r.URL.Path)
		w.WriteHeader(299)
	})
	d := &fakeDialer{ids: []string{"a"}, connectors: map[string]fakeConnector{"a": record}}
	h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))

	const portal = "portal.example.com"
	for _, tt := range []struct {
		target, host, sni string
		status            int
		want              string // what the connector saw; "" for nothing
	}{
		// routed, normalised
		{"/hr/x", portal, portal, 200, "hr /hr/x portal.example.com"},
		{"//hr//x", portal, portal, 200, "hr /hr/x portal.example.com"},
		{"/HR/X", portal, portal, 200, "hr /hr/X portal.example.com"},
		{"/%48r/x?q=%2F", portal, portal, 200, "hr /hr/x?q=%2F portal.example.com"},
		{"/KEEP/a", portal, portal, 200, "keep /keep/a portal.example.com"}, // the host folds case
		{"/keep/a%2Fb", portal, portal, 200, "keep /keep/a%2Fb portal.example.com"},
		{"/", "PORTAL.Example.com.:443", portal, 200, "root / portal.example.com:443"},
		{"/", portal, "", 200, "root / portal.example.com"},
		{"https://portal.example.com//hr/x", "wiki.example.com", portal, 200, "hr /hr/x portal.example.com"},
		// refused: path
		{"/hr/../admin", portal, portal, 400, ""},
		{"/hr/%2e%2E/admin", portal, portal, 400, ""},
		{"/hr/..;/admin", portal, portal, 400, ""},
		{"/;x/hr/x", portal, portal, 400, ""},
		{"/hr;x/y", portal, portal, 400, ""},
		{"/%2Fhr/x", portal, portal, 400, ""},
		{"/%5chr/x", portal, portal, 400, ""},
		{`/\hr/x`, portal, portal, 400, ""},
		{"/x%00", portal, portal, 400, ""},
		{"/hr/%252e%252e/admin", portal, portal, 400, ""},
		{"/hr/%C0%AE%C0%AE/admin", portal, portal, 400, ""},
		{"/HR/ADMINI~1/", portal, portal, 400, ""},
		{"/hr/admin./", portal, portal, 400, ""},
		{"*", portal, portal, 400, ""},
		// the reserved space, in every spelling
		{"/.gatehouse/jwks.json", portal, portal, 299, ""},
		{"//.gatehouse/jwks.json", portal, portal, 299, ""},
		{"/.GATEHOUSE/jwks.json", portal, portal, 404, ""},
		{"/.gatehouse", portal, portal, 404, ""},
		{"/%2egatehouse/x", portal, portal, 299, ""},
		{"/.gatehouse./x", portal, portal, 404, ""},
		// refused: host
		{"/", "wiki.example.com", portal, 421, ""},
		{"https://wiki.example.com/", portal, portal, 421, ""},
		{"/", "alice@portal.example.com", portal, 400, ""},
		{"/", "portal.example.com:x", portal, 400, ""},
		{"/", "unknown.example.com", "", 404, ""},
	} {
		t.Run(tt.target+" "+tt.host, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(
				"GET " + tt.target + " HTTP/1.1\r\nHost: " + tt.host + "\r\n\r\n")))
			if err != nil {
				t.Fatal(err)
			}
			req.RemoteAddr = "192.0.2.1:1234"
			req.TLS = &tls.ConnectionState{ServerName: tt.sni}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			mu.Lock()
			seen := strings.Join(got, "; ")
			mu.Unlock()
			if w.Code != tt.status || seen != tt.want {
				t.Fatalf("%d, connector saw %q; want %d, %q (body %q)", w.Code, seen, tt.status, tt.want, w.Body)
			}
			if rid := w.Header().Get("X-Request-Id"); w.Code >= 400 && !strings.Contains(w.Body.String(), rid) {
				t.Fatalf("refusal page without its request id %s: %q", rid, w.Body)
			}
		})
	}
}

func TestConnectIsRefused(t *testing.T) {
	table := NewTable(1, []Route{{App: "root", Group: "g", Host: "portal.example.com", Prefix: "/"}})
	d := &fakeDialer{}
	h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("CONNECT portal.example.com:443 HTTP/1.1\r\nHost: portal.example.com:443\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	Edge(h).ServeHTTP(w, req) // as the gateway serves it (core/gateway/serve.go)
	if w.Code != http.StatusMethodNotAllowed || len(d.dialed()) != 0 {
		t.Fatalf("CONNECT: %d, dialed %v; want 405 from the gateway", w.Code, d.dialed())
	}
}

func TestOptionsStarIsTheGateways(t *testing.T) {
	table := NewTable(1, []Route{{App: "root", Group: "g", Host: "portal.example.com", Prefix: "/"}})
	d := &fakeDialer{}
	h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("OPTIONS * HTTP/1.1\r\nHost: portal.example.com\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent || len(d.dialed()) != 0 {
		t.Fatalf("OPTIONS *: %d, dialed %v; want 204 from the gateway", w.Code, d.dialed())
	}
}
