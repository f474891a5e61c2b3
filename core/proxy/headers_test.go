package proxy

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// relayModes are the three ways a request leaves the gateway: the lean
// relay, ReverseProxy, and ReverseProxy behind an app's filters.
var relayModes = []string{"lean", "reverseproxy", "filters"}

// sendVia relays a raw request for an app with policy p in mode and
// returns what the connector received and what the client got.
func sendVia(t *testing.T, mode string, p HeaderPolicy, request, response string) (received, answered) {
	t.Helper()
	d := &recordDialer{response: response}
	route := Route{App: "app", Group: "g", Host: "demo.example.com", Prefix: "/", Headers: p}
	if mode == "filters" {
		route.Filters = func(next http.Handler) http.Handler { return next }
	}
	table := NewTable(1, []Route{route})
	h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
	h.noLean = mode != "lean"
	srv := httptest.NewServer(h)
	defer srv.Close()
	ans := rawRoundTrip(t, srv.Listener.Addr().String(), request)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.got) != 1 {
		t.Fatalf("%s: the connector got %d requests (client: %+v)", mode, len(d.got), ans)
	}
	return d.got[0], ans
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// TestOutgoingHeader checks what the connector receives of hostile
// request heads, on every relay: the same, by construction, and right.
func TestOutgoingHeader(t *testing.T) {
	forged := "X-Remote-User: admin\r\nX_Remote_User: admin\r\nx-remote-user: root\r\nRemote-User: admin\r\n" +
		"X-Auth-Request-User: admin\r\nX-Forwarded-User: admin\r\nX-Webauth-User: admin\r\n" +
		"X-Gatehouse-User: admin\r\nX_Gatehouse_User: admin\r\nX-Other_Thing: 1\r\nAccept: */*\r\n"
	tests := []struct {
		name    string
		policy  HeaderPolicy
		request string
		want    map[string][]string // nil value: absent
		trailer map[string][]string
	}{
		{"identity headers, twins and Gatehouse headers", HeaderPolicy{},
			"GET /x HTTP/1.1\r\nHost: demo.example.com\r\n" + forged + "\r\n",
			map[string][]string{"Accept": {"*/*"}, "X-Remote-User": nil, "Remote-User": nil, "X-Auth-Request-User": nil,
				"X-Forwarded-User": nil, "X-Webauth-User": nil, "X-Gatehouse-User": nil}, nil},
		{"forward_identity_headers keeps identity headers, not twins", HeaderPolicy{ForwardIdentity: true},
			"GET /x HTTP/1.1\r\nHost: demo.example.com\r\n" + forged + "\r\n",
			map[string][]string{"Accept": {"*/*"}, "X-Remote-User": {"admin", "root"}, "Remote-User": {"admin"},
				"X-Auth-Request-User": {"admin"}, "X-Forwarded-User": {"admin"}, "X-Gatehouse-User": nil}, nil},
		{"Connection cannot remove what the gateway sets", HeaderPolicy{},
			"GET /x HTTP/1.1\r\nHost: demo.example.com\r\nConnection: X-Forwarded-Proto, x-forwarded-host\r\n" +
				"Connection: X-Request-Id, X-Forwarded-For, X-Custom\r\nX-Custom: 1\r\nX-Forwarded-For: 10.0.0.1\r\n" +
				"X-Forwarded-Proto: http\r\nX-Request-Id: mine\r\n\r\n",
			map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"demo.example.com"},
				"X-Forwarded-For": {"127.0.0.1"}, "X-Custom": nil}, nil},
		{"gateway cookies", HeaderPolicy{},
			"GET /x HTTP/1.1\r\nHost: demo.example.com\r\nCookie: a=1; __Host-gatehouse.app=s; b=2\r\n" +
				"Cookie: __host-gatehouse.other=x\r\nCookie: %5F_Host-gatehouse.app=y\r\n\r\n",
			map[string][]string{"Cookie": {"a=1; b=2"}}, nil},
		{"trailers dropped by default", HeaderPolicy{},
			"PUT /x HTTP/1.1\r\nHost: demo.example.com\r\nTrailer: X-Checksum, X-Remote-User\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Remote-User: admin\r\n\r\n",
			nil, map[string][]string{}},
		{"allowed trailer arrives, nothing else", HeaderPolicy{Trailers: []string{"X-Checksum", "X-Remote-User"}},
			"PUT /x HTTP/1.1\r\nHost: demo.example.com\r\nTrailer: X-Checksum, X-Remote-User\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Remote-User: admin\r\nX_Checksum: 2\r\nX-Gatehouse-User: admin\r\n\r\n",
			nil, map[string][]string{"X-Checksum": {"1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first received
			for i, mode := range relayModes {
				got, ans := sendVia(t, mode, tt.policy, tt.request, okAnswer)
				if ans.Status != 200 {
					t.Fatalf("%s: status %d %q", mode, ans.Status, ans.Err)
				}
				for k, want := range tt.want {
					if v := got.Header[k]; !slices.Equal(v, want) {
						t.Errorf("%s: %s = %q, want %q", mode, k, v, want)
					}
				}
				for k := range got.Header {
					if strings.Contains(k, "_") {
						t.Errorf("%s: %s reached the connector", mode, k)
					}
				}
				if rid := got.Header["X-Request-Id"]; len(rid) != 1 || rid[0] == "mine" || rid[0] == "" {
					t.Errorf("%s: X-Request-Id = %q", mode, rid)
				}
				if tt.trailer != nil && !equalJSON(nonNil(got.Trailer), tt.trailer) {
					t.Errorf("%s: trailers %q, want %q", mode, got.Trailer, tt.trailer)
				}
				normalize(&got, &ans)
				if i == 0 {
					first = got
				} else if !equalJSON(got, first) {
					t.Errorf("%s and %s differ:\n%+v\n%+v", relayModes[0], mode, first, got)
				}
			}
		})
	}
}

// nonNil is h without its keys of no value.
func nonNil(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// TestBackendCannotSetGatewayCookies: a backend's Set-Cookie for a
// gateway cookie, in any spelling, never reaches the client.
func TestBackendCannotSetGatewayCookies(t *testing.T) {
	response := "HTTP/1.1 200 OK\r\nSet-Cookie: __Host-gatehouse.app=planted; Path=/; Secure\r\n" +
		"Set-Cookie: a=1\r\nSet-Cookie: __HOST-gatehouse-state.app=x; Path=/\r\nSet-Cookie: =__Host-gatehouse.app=nameless\r\n" +
		"Set-Cookie: __Host-gatehouse.app\r\nSet-Cookie: b=2; Path=/\r\nContent-Length: 2\r\n\r\nok"
	for _, mode := range relayModes {
		_, ans := sendVia(t, mode, HeaderPolicy{}, "GET /x HTTP/1.1\r\nHost: demo.example.com\r\n\r\n", response)
		if got, want := ans.Header["Set-Cookie"], []string{"a=1", "b=2; Path=/"}; !slices.Equal(got, want) {
			t.Errorf("%s: Set-Cookie %q, want %q", mode, got, want)
		}
	}
}
