package e2e

// Hostile cases of classes "headers" and "cookies": a client that forges
// identity headers (underscore twins, odd case, duplicates, trailers), that
// names the gateway's own headers in Connection to have them removed, that
// sends one app's session cookie to another app, and a backend that tries
// to set one of the gateway's cookies. Every case reads what the backend
// received.

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// hdrEnv is one gateway and connector with the apps the header cases use,
// all served by one recorder except "plant":
//
//   - pass:   passthrough, at shared.localhost/
//   - nosso:  signed in by API key, no sign-on, at shared.localhost/secure
//   - sso:    signed in by API key, header sign-on (X-Remote-User), at sso.localhost
//   - wasm:   passthrough with a WASM filter, at wasm.localhost
//   - plant:  signed in by API key, a backend that sets cookies, at plant.localhost
type hdrEnv struct {
	g      *gatewayProc
	rec    *recorder
	h1, h2 *http.Client
}

const hdrKey = "k-hostile-headers-0d8e"

// hdrPlugins is the plug-in catalog of the header cases: the API-key
// sign-in example and the built-in header sign-on.
func hdrPlugins(t *testing.T) string {
	return fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))
}

// hdrAuth signs in alice with hdrKey in X-Api-Key.
func hdrAuth() string {
	sum := sha256.Sum256([]byte(hdrKey))
	return fmt.Sprintf(`{plugin: apikeys, config: {header: X-Api-Key, keys: [{sha256: %s, subject: alice, groups: [staff]}]}}`, hex.EncodeToString(sum[:]))
}

// startHdrEnv starts a gateway (with the example filters' catalog when
// filters) publishing apps, whose URL "REC" stands for the recorder's,
// and one connector. edit, if set, changes the config text.
func startHdrEnv(t *testing.T, filters bool, edit func(yaml string) string, apps ...appSpec) *hdrEnv {
	t.Helper()
	e := &hdrEnv{rec: newRecorder(t)}
	for i := range apps {
		if apps[i].URL == "REC" {
			apps[i].URL = e.rec.URL
		}
	}
	base := gwConfig{Groups: []string{"default"}, Plugins: hdrPlugins(t)}
	g := newGateway(t, base)
	text := specYAML(base, apps, g.public, g.tunnel, g.dataDir)
	if edit != nil {
		text = edit(text)
	}
	if filters {
		text = filterCatalog(t) + text
	}
	g.writeConfigText(text)
	g.start()
	enrollConnector(t, g, "connector", "default")
	e.g, e.h1, e.h2 = g, g.client(false), g.client(true)
	return e
}

// send does req and returns what the backend rec received of it (exactly
// one request) and the client's answer.
func (e *hdrEnv) send(t *testing.T, rec *recorder, c *http.Client, req *http.Request) (recorded, response) {
	t.Helper()
	n := rec.count()
	r, err := do(t, c, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	got := rec.since(n)
	if len(got) != 1 {
		t.Fatalf("%s %s: the backend saw %d requests, want 1 (client got %d %q)", req.Method, req.URL, len(got), r.Status, clip(r.Body, 200))
	}
	return got[0], r
}

// request builds a GET with header lines added as written (no
// canonicalisation, so "x-rEmOtE-uSeR" and "X_Remote_User" go as they are).
func request(t *testing.T, url string, header ...string) *http.Request {
	t.Helper()
	req := mustRequest(t, url)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header[header[i]] = append(req.Header[header[i]], header[i+1])
	}
	return req
}

// withTrailers is a POST of a body of unknown length (so chunked, or
// HTTP/2 DATA frames) followed by trailers.
func withTrailers(t *testing.T, url string, trailer http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, io.MultiReader(strings.NewReader("payload")))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	req.Trailer = trailer
	return req
}

// gatehouseHeaders returns the headers of h whose name, folded as CGI
// folds it, starts with X-Gatehouse-.
func gatehouseHeaders(h http.Header) []string {
	var out []string
	for k, vv := range h {
		if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(k, "_", "-")), "x-gatehouse-") {
			out = append(out, k+": "+strings.Join(vv, ","))
		}
	}
	return out
}

// identityOf lists what the backend got under each identity header name,
// folded as CGI folds names, in headers and trailers.
func identityOf(got recorded, names ...string) (string, int) {
	var b strings.Builder
	n := 0
	for _, name := range names {
		vs := append(headerNamed(got.Header, name), headerNamed(got.Trailer, name)...)
		n += len(vs)
		fmt.Fprintf(&b, "%s=%q ", name, vs)
	}
	return strings.TrimSpace(b.String()), n
}

// session signs in to the app at url with the API key and returns its
// session cookie.
func (e *hdrEnv) session(t *testing.T, url, app string) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	eventually(t, "a sign-in to "+app, func() bool {
		r, err := do(t, e.h1, request(t, url, "X-Api-Key", hdrKey))
		if err != nil || r.Status != http.StatusOK {
			return false
		}
		for _, c := range (&http.Response{Header: r.Header}).Cookies() {
			if c.Name == "__Host-gatehouse."+app {
				found = c
			}
		}
		return found != nil
	})
	return found
}

// TestHostileHeaders forges identity and gateway headers, hides them in
// trailers, names the gateway's headers in Connection, and moves session
// cookies from app to app and from backend to browser.
func TestHostileHeaders(t *testing.T) {
	plant := newRecorder(t) // records, and answers, for the planting backend
	planter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range plantedCookies {
			w.Header().Add("Set-Cookie", c)
		}
		plant.srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(planter.Close)
	e := startHdrEnv(t, true, nil,
		appSpec{Name: "pass", Host: "shared.localhost", Group: "default", URL: "REC"},
		appSpec{Name: "nosso", Host: "shared.localhost", PathPrefix: "/secure", Group: "default", URL: "REC", Auth: hdrAuth()},
		appSpec{Name: "sso", Host: "sso.localhost", Group: "default", URL: "REC", Auth: hdrAuth(),
			SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}, jwt: {}}}`},
		appSpec{Name: "wasm", Host: "wasm.localhost", Group: "default", URL: "REC", Filters: `[{filter: securityheaders, config: {}}]`},
		appSpec{Name: "plant", Host: "plant.localhost", Group: "default", URL: planter.URL, Auth: hdrAuth()},
	)
	const (
		pass  = "https://shared.localhost/p"
		nosso = "https://shared.localhost/secure/p"
		sso   = "https://sso.localhost/p"
		wasm  = "https://wasm.localhost/p"
	)
	waitServing(t, e.h1, pass)
	waitServing(t, e.h1, wasm)
	identity := []string{"X-Remote-User", "Remote-User", "X-Forwarded-User", "X-Auth-Request-User", "X-Auth-Request-Email"}

	// none: the backend got no identity header from the client.
	none := func(t *testing.T, c *http.Client, req *http.Request) (string, bool) {
		got, _ := e.send(t, e.rec, c, req)
		obs, n := identityOf(got, identity...)
		return obs, n == 0
	}
	// onlySignOn: the backend got alice from the connector's sign-on, alone.
	onlySignOn := func(t *testing.T, req *http.Request) (string, bool) {
		got, _ := e.send(t, e.rec, e.h1, req)
		vs := headerNamed(got.Header, "X-Remote-User")
		return fmt.Sprintf("X-Remote-User (folded) = %q", vs), len(vs) == 1 && vs[0] == "alice"
	}

	hostile(t, "headers", "X_Remote_User twin, passthrough app", "backend gets no X-Remote-User in any spelling", func(t *testing.T) (string, bool) {
		return none(t, e.h1, request(t, pass, "X_Remote_User", "admin"))
	})
	hostile(t, "headers", "X_Remote_User twin, header sign-on app", "backend gets only the connector's X-Remote-User: alice", func(t *testing.T) (string, bool) {
		return onlySignOn(t, request(t, sso, "X-Api-Key", hdrKey, "X_Remote_User", "admin", "x_remote_user", "admin2"))
	})
	hostile(t, "headers", "X_Remote_User twin, signed-in app without sign-on", "backend gets no X-Remote-User in any spelling", func(t *testing.T) (string, bool) {
		return none(t, e.h1, request(t, nosso, "X-Api-Key", hdrKey, "X_Remote_User", "admin"))
	})
	hostile(t, "headers", "mixed-case x-rEmOtE-uSeR, signed-in app without sign-on", "backend gets no X-Remote-User", func(t *testing.T) (string, bool) {
		return none(t, e.h1, request(t, nosso, "X-Api-Key", hdrKey, "x-rEmOtE-uSeR", "admin"))
	})
	hostile(t, "headers", "duplicate X-Remote-User and twins, header sign-on app", "backend gets only the connector's X-Remote-User: alice", func(t *testing.T) (string, bool) {
		return onlySignOn(t, request(t, sso, "X-Api-Key", hdrKey, "X-Remote-User", "admin", "X-Remote-User", "root",
			"X_Remote_User", "admin", "X-REMOTE_USER", "root"))
	})
	hostile(t, "headers", "Remote-User, X-Forwarded-User, X-Auth-Request-* by default", "backend gets none of them", func(t *testing.T) (string, bool) {
		return none(t, e.h1, request(t, nosso, "X-Api-Key", hdrKey, "Remote-User", "admin", "X-Forwarded-User", "admin",
			"X-Auth-Request-User", "admin", "X-Auth-Request-Email", "admin@example.com"))
	})
	hostile(t, "headers", "X-Gatehouse-* in any spelling, filtered app", "backend gets no X-Gatehouse-* header", func(t *testing.T) (string, bool) {
		got, _ := e.send(t, e.rec, e.h1, request(t, wasm, "X-Gatehouse-User", "admin", "x-gatehouse-groups", "admins",
			"X_Gatehouse_User", "admin", "X-GATEHOUSE_EMAIL", "admin@example.com"))
		gh := gatehouseHeaders(got.Header)
		return fmt.Sprintf("X-Gatehouse-* at the backend: %q", gh), len(gh) == 0
	})
	hostile(t, "headers", "X-Remote-User as HTTP/1.1 request trailer", "backend gets no X-Remote-User, in headers or trailers", func(t *testing.T) (string, bool) {
		return none(t, e.h1, withTrailers(t, pass, http.Header{"X-Remote-User": {"admin"}, "X-Auth-Request-User": {"admin"}}))
	})
	hostile(t, "headers", "X-Remote-User as HTTP/2 request trailer", "backend gets no X-Remote-User, in headers or trailers", func(t *testing.T) (string, bool) {
		req := withTrailers(t, nosso, http.Header{"X-Remote-User": {"admin"}, "Remote-User": {"admin"}})
		req.Header.Set("X-Api-Key", hdrKey)
		return none(t, e.h2, req)
	})
	hostile(t, "headers", "X-Gatehouse-User and X-Remote-User trailers, header sign-on app", "backend gets neither as a trailer", func(t *testing.T) (string, bool) {
		req := withTrailers(t, sso, http.Header{"X-Gatehouse-User": {"admin"}, "X-Remote-User": {"admin"}})
		req.Header.Set("X-Api-Key", hdrKey)
		got, _ := e.send(t, e.rec, e.h1, req)
		gh, tr := gatehouseHeaders(got.Trailer), headerNamed(got.Trailer, "X-Remote-User")
		return fmt.Sprintf("trailers: X-Gatehouse-* %q, X-Remote-User %q", gh, tr), len(gh) == 0 && len(tr) == 0
	})
	hostile(t, "headers", "identity trailers, app with a WASM filter (HTTP/1.1 and HTTP/2)", "backend gets no identity trailer either way", func(t *testing.T) (string, bool) {
		var obs []string
		ok := true
		for i, c := range []*http.Client{e.h1, e.h2} {
			o, good := none(t, c, withTrailers(t, wasm, http.Header{"X-Remote-User": {"admin"}, "X-Gatehouse-User": {"admin"}}))
			got, _ := e.rec.last()
			gh := gatehouseHeaders(got.Trailer)
			obs, ok = append(obs, fmt.Sprintf("HTTP/%d: %s X-Gatehouse-*=%q", i+1, o, gh)), ok && good && len(gh) == 0
		}
		return strings.Join(obs, "; "), ok
	})
	hostile(t, "headers", "undeclared identity trailer after a declared one (raw HTTP/1.1)", "backend gets no X-Remote-User trailer", func(t *testing.T) (string, bool) {
		n := e.rec.count()
		status := rawTLS(t, e.g, "shared.localhost", "POST /raw HTTP/1.1\r\nHost: shared.localhost\r\nTrailer: X-Checksum\r\n"+
			"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: 1\r\nX-Remote-User: admin\r\n\r\n")
		got := e.rec.since(n)
		if len(got) != 1 {
			return fmt.Sprintf("client got %d; backend saw %d requests", status, len(got)), false
		}
		obs, c := identityOf(got[0], "X-Remote-User")
		return obs, c == 0
	})

	// Connection: a client names the gateway's own headers as hop-by-hop.
	for _, tc := range []struct{ name, url string }{{"lean relay", pass}, {"ReverseProxy, WASM filter", wasm}} {
		hostile(t, "headers", "Connection names X-Forwarded-*, X-Request-Id ("+tc.name+")",
			"backend still gets all four, set by the gateway", func(t *testing.T) (string, bool) {
				got, r := e.send(t, e.rec, e.h1, request(t, tc.url, "Connection", "X-Forwarded-Proto, X-Forwarded-Host", "Connection", "X-Request-Id, X-Forwarded-For",
					"X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "http", "X-Request-Id", "mine"))
				want := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": strings.Split(tc.url, "/")[2],
					"X-Request-Id": r.Header.Get("X-Request-Id"), "X-Forwarded-For": "127.0.0.1"}
				var obs []string
				ok := true
				for _, k := range []string{"X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-Id", "X-Forwarded-For"} {
					vs := got.Header.Values(k)
					obs = append(obs, fmt.Sprintf("%s=%q", k, vs))
					ok = ok && len(vs) == 1 && vs[0] == want[k]
				}
				return strings.Join(obs, " "), ok
			})
	}

	// Cookies.
	own := e.session(t, nosso, "nosso")
	hostile(t, "cookies", "another app's session cookie on the same host (passthrough app)", "backend gets no gateway cookie, other cookies intact", func(t *testing.T) (string, bool) {
		got, _ := e.send(t, e.rec, e.h1, request(t, pass, "Cookie", "pref=1; "+own.Name+"="+own.Value))
		c := strings.Join(got.Header.Values("Cookie"), " | ")
		return "backend Cookie: " + clip(c, 80), c == "pref=1"
	})
	hostile(t, "cookies", "own session cookie and its other spellings", "backend gets no gateway cookie; the session still admits", func(t *testing.T) (string, bool) {
		got, r := e.send(t, e.rec, e.h1, request(t, nosso, "Cookie", own.Name+"="+own.Value+"; pref=1",
			"Cookie", "__host-gatehouse.nosso=lower; %5F_Host-gatehouse.nosso=encoded", "Cookie", "keep=2, __Host-gatehouse.sso=comma"))
		c := strings.Join(got.Header.Values("Cookie"), " | ")
		return fmt.Sprintf("status %d, backend Cookie: %s", r.Status, clip(c, 80)), r.Status == 200 && c == "pref=1"
	})
	hostile(t, "cookies", "backend Set-Cookie of the gateway's cookie names", "client gets only app=1 from the backend; the session stays and works", func(t *testing.T) (string, bool) {
		const url = "https://plant.localhost/p"
		n := plant.count()
		first, err := do(t, e.h1, request(t, url, "X-Api-Key", hdrKey)) // signs in: the gateway sets the session
		if err != nil {
			t.Fatal(err)
		}
		// As a browser keeps them: the last cookie of a name wins.
		var sess *http.Cookie
		var names []string
		for _, c := range (&http.Response{Header: first.Header}).Cookies() {
			names = append(names, c.Name)
			if c.Name == "__Host-gatehouse.plant" {
				sess = c
			}
		}
		if sess == nil {
			return fmt.Sprintf("sign-in: %d, cookies %q", first.Status, names), false
		}
		again, err := do(t, e.h1, request(t, url, "Cookie", sess.Name+"="+sess.Value))
		if err != nil {
			t.Fatal(err)
		}
		sc := again.Header.Values("Set-Cookie")
		seen := len(plant.since(n))
		return fmt.Sprintf("sign-in cookies %q; with the session: %d, Set-Cookie %q; backend saw %d requests", names, again.Status, sc, seen),
			len(names) == 2 && again.Status == 200 && len(sc) == 1 && sc[0] == "app=1; Path=/" && seen == 2
	})
}

// plantedCookies are what the planting backend sets: four spellings of the
// plant app's session cookie, and one cookie of its own.
var plantedCookies = []string{"__Host-gatehouse.plant=planted; Path=/; Secure", "__HOST-gatehouse.plant=upper; Path=/; Secure",
	"=__Host-gatehouse.plant=nameless; Path=/; Secure", "%5F_Host-gatehouse.plant=encoded; Path=/", "app=1; Path=/"}

// rawTLS sends request as written over TLS to the gateway and returns the
// answer's status (0 if none).
func rawTLS(t *testing.T, g *gatewayProc, host, request string) int {
	t.Helper()
	c, err := tls.Dial("tcp", g.public, &tls.Config{ServerName: host, RootCAs: g.caPool(), NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestHostileHeaderOptions covers the per-app keys: a trailer an app
// allows arrives (and nothing else does), and forward_identity_headers
// lets a client's identity headers through, but never a twin, a
// Gatehouse header or an identity trailer.
func TestHostileHeaderOptions(t *testing.T) {
	e := startHdrEnv(t, false, func(text string) string {
		text = strings.Replace(text, "  - name: trail\n", "  - name: trail\n    allow_trailers: [x-checksum]\n", 1)
		return strings.Replace(text, "  - name: optout\n", "  - name: optout\n    forward_identity_headers: true\n", 1)
	},
		appSpec{Name: "trail", Host: "trail.localhost", Group: "default", URL: "REC"},
		appSpec{Name: "optout", Host: "optout.localhost", Group: "default", URL: "REC"},
	)
	const trail, optout = "https://trail.localhost/p", "https://optout.localhost/p"
	waitServing(t, e.h1, trail)

	hostile(t, "headers", "allowed trailer X-Checksum next to X-Remote-User (HTTP/1.1 and HTTP/2)", "backend gets X-Checksum: 42 only", func(t *testing.T) (string, bool) {
		var obs []string
		ok := true
		for i, c := range []*http.Client{e.h1, e.h2} {
			got, _ := e.send(t, e.rec, c, withTrailers(t, trail, http.Header{"X-Checksum": {"42"}, "X-Remote-User": {"admin"}}))
			cs := got.Trailer.Values("X-Checksum")
			id, n := identityOf(got, "X-Remote-User")
			obs = append(obs, fmt.Sprintf("HTTP/%d: X-Checksum=%q %s", i+1, cs, id))
			ok = ok && len(cs) == 1 && cs[0] == "42" && n == 0
		}
		return strings.Join(obs, "; "), ok
	})
	hostile(t, "headers", "forward_identity_headers: true", "Remote-User, X-Forwarded-User, X-Auth-Request-User arrive; twins and X-Gatehouse-* do not", func(t *testing.T) (string, bool) {
		got, _ := e.send(t, e.rec, e.h1, request(t, optout, "Remote-User", "bob", "X-Forwarded-User", "bob", "X-Auth-Request-User", "bob",
			"X_Remote_User", "admin", "X-Gatehouse-User", "admin"))
		ok := true
		var obs []string
		for _, k := range []string{"Remote-User", "X-Forwarded-User", "X-Auth-Request-User", "X-Remote-User"} {
			vs := headerNamed(got.Header, k)
			obs = append(obs, fmt.Sprintf("%s=%q", k, vs))
			want := k != "X-Remote-User"
			ok = ok && (len(vs) == 1 && vs[0] == "bob") == want && (len(vs) == 0) != want
		}
		gh := gatehouseHeaders(got.Header)
		return strings.Join(obs, " ") + fmt.Sprintf(" X-Gatehouse-*=%q", gh), ok && len(gh) == 0
	})
	hostile(t, "headers", "forward_identity_headers: true, identity header as trailer", "backend gets no identity trailer", func(t *testing.T) (string, bool) {
		got, _ := e.send(t, e.rec, e.h1, withTrailers(t, optout, http.Header{"Remote-User": {"admin"}, "X-Remote-User": {"admin"}}))
		vs := append(headerNamed(got.Trailer, "Remote-User"), headerNamed(got.Trailer, "X-Remote-User")...)
		return fmt.Sprintf("identity trailers: %q", vs), len(vs) == 0
	})
}
