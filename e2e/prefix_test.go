package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"
	"testing"
)

// TestPathPrefixes publishes two apps on one host: /hr goes to backend A
// under its URL path /internal/, everything else to backend B. The
// prefix is replaced by the backend URL's path, the query and escaped
// characters (%2F, in apps with keep_escaped_slashes) are kept, /hrx is
// not below /hr, and preserve_host sends the external Host instead of the
// backend URL's.
func TestPathPrefixes(t *testing.T) {
	t.Parallel()
	a := newEchoServer(t, "A")
	b := newEchoServer(t, "B")
	aHost := strings.TrimPrefix(a.URL, "http://")
	g := startGatewaySpec(t, []string{"default"}, []appSpec{
		{Name: "hr", Host: "portal.localhost", PathPrefix: "/hr", Group: "default", URL: a.URL + "/internal/", KeepEscapedSlashes: true},
		{Name: "root", Host: "portal.localhost", PathPrefix: "/", Group: "default", URL: b.URL, KeepEscapedSlashes: true},
		{Name: "kept", Host: "kept.localhost", PathPrefix: "/hr", Group: "default", URL: a.URL + "/internal/", PreserveHost: true},
	})
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://portal.localhost/hr/")
	waitServing(t, c, "https://kept.localhost/hr/")

	for _, tc := range []struct {
		path, server, requestURI, rawPath string
	}{
		{"/hr/x?q=1", "A", "/internal/x?q=1", ""},
		{"/hr", "A", "/internal/", ""},
		{"/hr/", "A", "/internal/", ""},
		{"/hr?q=1&r=%2F", "A", "/internal/?q=1&r=%2F", ""},
		{"/hr/a%2Fb", "A", "/internal/a%2Fb", "/internal/a%2Fb"},
		{"/hr/a%2Fb/c%20d?q=%2F", "A", "/internal/a%2Fb/c%20d?q=%2F", "/internal/a%2Fb/c%20d"},
		{"/hrx", "B", "/hrx", ""},
		{"/hrx/y", "B", "/hrx/y", ""},
		{"/", "B", "/", ""},
		{"/other/hr/x?q=1", "B", "/other/hr/x?q=1", ""},
		{"/a%2Fb", "B", "/a%2Fb", "/a%2Fb"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			s := getSeen(t, c, "https://portal.localhost"+tc.path, tc.server)
			if s.RequestURI != tc.requestURI || s.RawPath != tc.rawPath {
				t.Errorf("%s reached backend %s as %q (RawPath %q), want %q (RawPath %q)",
					tc.path, s.Server, s.RequestURI, s.RawPath, tc.requestURI, tc.rawPath)
			}
			wantHost := aHost
			if tc.server == "B" {
				wantHost = strings.TrimPrefix(b.URL, "http://")
			}
			if s.Host != wantHost {
				t.Errorf("backend %s saw Host %q, want the backend URL's host %q", s.Server, s.Host, wantHost)
			}
		})
	}
	t.Run("preserve_host", func(t *testing.T) {
		s := getSeen(t, c, "https://kept.localhost/hr/x?q=1", "A")
		if s.Host != "kept.localhost" || s.RequestURI != "/internal/x?q=1" {
			t.Errorf("with preserve_host, backend A saw Host %q and %q; want Host %q and %q",
				s.Host, s.RequestURI, "kept.localhost", "/internal/x?q=1")
		}
	})
}

// TestPrefixEscapedSlashUnderEncodedPrefix: in apps that keep escaped
// slashes (keep_escaped_slashes; others refuse them), a prefix that travels
// percent-encoded (any non-ASCII prefix, such as /données, which browsers
// send as /donn%C3%A9es; or a client that escapes an unreserved
// character) must still keep %2F in the rest of the path: the backend
// must see one segment "a%2Fb", not the two segments "a/b".
func TestPrefixEscapedSlashUnderEncodedPrefix(t *testing.T) {
	t.Parallel()
	a := newEchoServer(t, "A")
	g := startGatewaySpec(t, []string{"default"}, []appSpec{
		{Name: "docs", Host: "portal.localhost", PathPrefix: "/données", Group: "default", URL: a.URL + "/internal/", KeepEscapedSlashes: true},
		{Name: "hr", Host: "portal.localhost", PathPrefix: "/hr", Group: "default", URL: a.URL + "/internal/", KeepEscapedSlashes: true},
	})
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://portal.localhost/hr/")

	for _, tc := range []struct{ path, requestURI string }{
		{"/hr/a%2Fb", "/internal/a%2Fb"},               // control: the prefix as written
		{"/donn%C3%A9es/x?q=1", "/internal/x?q=1"},     // control: no escaped slash
		{"/donn%C3%A9es/a%2Fb", "/internal/a%2Fb"},     // a non-ASCII prefix, as browsers send it
		{"/h%72/a%2Fb?q=%2F", "/internal/a%2Fb?q=%2F"}, // the client escaped the prefix's "r"
	} {
		t.Run(tc.path, func(t *testing.T) {
			s := getSeen(t, c, "https://portal.localhost"+tc.path, "A")
			if s.RequestURI != tc.requestURI {
				t.Errorf("%s reached the backend as %q (Path %q, RawPath %q), want %q",
					tc.path, s.RequestURI, s.Path, s.RawPath, tc.requestURI)
			}
		})
	}
}

// TestPrefixDotSegmentsStayBelowBackendPath: an app published as /hr →
// http://backend/internal/ must not let a user reach the backend outside
// /internal/ with dot segments. The gateway refuses such a request with its
// own 400 before routing, and no backend receives anything: neither A (the
// prefix's backend) nor B (the "/" app a resolved path would reach).
func TestPrefixDotSegmentsStayBelowBackendPath(t *testing.T) {
	t.Parallel()
	a := newEchoServer(t, "A")
	b := newEchoServer(t, "B")
	g := startGatewaySpec(t, []string{"default"}, []appSpec{
		{Name: "hr", Host: "portal.localhost", PathPrefix: "/hr", Group: "default", URL: a.URL + "/internal/"},
		{Name: "root", Host: "portal.localhost", PathPrefix: "/", Group: "default", URL: b.URL},
	})
	enrollConnector(t, g, "connector", "default")
	waitServing(t, g.client(false), "https://portal.localhost/hr/")

	for _, h2 := range []bool{false, true} {
		c := g.client(h2)
		for _, p := range []string{
			"/hr/../secret",
			"/hr/x/../../secret",
			"/hr/./x",
			"/hr/%2e%2e/secret",
			"/hr/%2E./secret",
			"/hr/..%2Fsecret",
			"/hr%2F..%2Fsecret",
		} {
			t.Run(fmt.Sprintf("%s (h2=%v)", p, h2), func(t *testing.T) {
				hitsA, hitsB := a.hits.Load(), b.hits.Load()
				r := get(t, c, "https://portal.localhost"+p)
				var s seenRequest
				if json.Unmarshal([]byte(r.Body), &s) == nil && s.Server != "" {
					t.Fatalf("%s reached backend %s as %q (resolves to %q); want the gateway's 400",
						p, s.Server, s.RequestURI, path.Clean(s.Path))
				}
				if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "request id") {
					t.Fatalf("%s: got %d %q; want the gateway's 400 page with a request id", p, r.Status, r.Body)
				}
				if da, db := a.hits.Load()-hitsA, b.hits.Load()-hitsB; da != 0 || db != 0 {
					t.Errorf("%s: backend A received %d requests and B %d; want none", p, da, db)
				}
			})
		}
	}
}
