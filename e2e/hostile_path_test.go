package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The hostile cases of path confusion and Host/SNI confusion. portal.localhost
// publishes /hr, signed in with an API key and an access rule that keeps
// /hr/admin for the group "admins" (alice, who signs in, is not in it),
// and a passthrough app on "/" — the classic split that a path the
// gateway reads one way and a backend another (//hr, %2Fhr, \hr, ;x/hr,
// /HR on IIS) turns into a way in without signing in, or past the rule.
// wiki.localhost is a second passthrough host on the same gateway.

const pathRule = `{rule: 'request.path.startsWith("/hr/admin") ? "admins" in user.groups : true'}`

// pathSetup is one gateway with the apps above and their recorders.
type pathSetup struct {
	g                *gatewayProc
	hr, root, wiki   *recorder
	anon, alice, h2c *http.Client
}

// startPathSetup starts the gateway and a connector; extra holds YAML
// lines added to the hr app (such as case_insensitive_paths: true).
func startPathSetup(t *testing.T, extra string) *pathSetup {
	t.Helper()
	s := &pathSetup{hr: newRecorder(t), root: newRecorder(t), wiki: newRecorder(t)}
	sum := sha256.Sum256([]byte(apiKey))
	auth := fmt.Sprintf("{plugin: apikeys, config: {header: X-Api-Key, keys: [{sha256: %s, subject: alice, groups: [staff, hr]}]}}",
		hex.EncodeToString(sum[:]))
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	apps := []appSpec{
		{Name: "hr", Host: "portal.localhost", PathPrefix: "/hr", Group: "default", URL: s.hr.URL, Auth: auth,
			SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`, Access: pathRule},
		{Name: "root", Host: "portal.localhost", Group: "default", URL: s.root.URL},
		{Name: "wiki", Host: "wiki.localhost", Group: "default", URL: s.wiki.URL},
	}
	s.g = newGateway(t, base)
	for attempt := 1; ; attempt++ {
		text := specYAML(base, apps, s.g.public, s.g.tunnel, s.g.dataDir)
		if extra != "" {
			text = strings.Replace(text, "  - name: hr\n", "  - name: hr\n    "+extra+"\n", 1)
		}
		s.g.writeConfigText(text)
		s.g.proc = startProc(t, "gateway", gatehouseBin, "serve", "--config", s.g.configPath)
		if s.g.waitStarted() || attempt == 3 {
			break
		}
		s.g.public, s.g.tunnel = freeAddr(t), freeAddr(t)
	}
	s.g.proc.requireAlive(t)
	enrollConnector(t, s.g, "connector", "default")
	s.anon, s.alice, s.h2c = s.g.client(false), s.g.client(false), s.g.client(true)
	eventually(t, "alice reaches /hr through the connector", func() bool {
		return getWith(t, s.alice, "https://portal.localhost/hr/x", "X-Api-Key", apiKey).Status == 200
	})
	// Controls: what the cases must not get around.
	if r := getWith(t, s.anon, "https://portal.localhost/hr/x"); r.Status != http.StatusUnauthorized {
		t.Fatalf("control: /hr/x without a key: %d, want 401", r.Status)
	}
	if r := getWith(t, s.alice, "https://portal.localhost/hr/admin", "X-Api-Key", apiKey); r.Status != http.StatusForbidden {
		t.Fatalf("control: alice at /hr/admin: %d, want 403 from the access rule", r.Status)
	}
	if r := get(t, s.anon, "https://portal.localhost/public"); r.Status != 200 {
		t.Fatalf("control: /public on the passthrough app: %d", r.Status)
	}
	return s
}

// probe runs send and reports what the client and each backend got; ok
// when the status is want and no backend received anything.
func (s *pathSetup) probe(t *testing.T, want int, send func() (int, error)) (string, bool) {
	t.Helper()
	nh, nr, nw := s.hr.count(), s.root.count(), s.wiki.count()
	status, err := send()
	var got []string
	for _, b := range []struct {
		name string
		rec  *recorder
		n    int
	}{{"hr", s.hr, nh}, {"root", s.root, nr}, {"wiki", s.wiki, nw}} {
		for _, r := range b.rec.since(b.n) {
			got = append(got, b.name+" got "+r.URI)
		}
	}
	if err != nil {
		return fmt.Sprintf("client error %v; %s", err, strings.Join(got, ", ")), false
	}
	if len(got) == 0 {
		return fmt.Sprintf("%d; no backend", status), status == want
	}
	return fmt.Sprintf("%d; %s", status, strings.Join(got, ", ")), false
}

// getStatus GETs url through c with extra header lines.
func getStatus(c *http.Client, url string, header ...string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// rawStatus sends a request head as written, over TLS with server name
// sni, where Go's client would clean or rewrite it.
func rawStatus(g *gatewayProc, sni, head string) (int, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", g.public, &tls.Config{ServerName: sni, RootCAs: g.caPool(), NextProtos: []string{"http/1.1"}})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(c, head); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// sniClient is a client whose TLS server name is sni whatever the URL's
// host: a connection opened for one host and used for another.
func sniClient(g *gatewayProc, sni string, h2 bool) *http.Client {
	return newClient(g.public, &tls.Config{ServerName: sni, RootCAs: g.caPool()}, h2)
}

func TestHostilePathConfusion(t *testing.T) {
	s := startPathSetup(t, "")
	const portal = "https://portal.localhost"
	anon := func(c *http.Client, path string) func() (int, error) {
		return func() (int, error) { return getStatus(c, portal+path) }
	}
	alice := func(c *http.Client, path string) func() (int, error) {
		return func() (int, error) { return getStatus(c, portal+path, "X-Api-Key", apiKey) }
	}
	raw := func(target string) func() (int, error) {
		return func() (int, error) {
			return rawStatus(s.g, "portal.localhost", "GET "+target+" HTTP/1.1\r\nHost: portal.localhost\r\nConnection: close\r\n\r\n")
		}
	}
	for _, tc := range []struct {
		name     string
		want     int
		expected string
		send     func() (int, error)
	}{
		// Without signing in, into /hr through the "/" app.
		{"//hr/x: doubled slash, not signed in", 401, "merged to /hr/x: sign-in asked; no backend", anon(s.anon, "//hr/x")},
		{"//hr/x over HTTP/2", 401, "merged to /hr/x: sign-in asked; no backend", anon(s.h2c, "//hr/x")},
		{"/%2Fhr/x: encoded slash", 400, "400; no backend", anon(s.anon, "/%2Fhr/x")},
		{"/%2fhr/x: encoded slash, lower case", 400, "400; no backend", anon(s.anon, "/%2fhr/x")},
		{"/%5Chr/x: encoded backslash (IIS reads /hr/x)", 400, "400; no backend", anon(s.anon, "/%5Chr/x")},
		{`/\hr/x: raw backslash`, 400, "400; no backend", raw(`/\hr/x`)},
		{"/;x/hr/x: path parameter (Tomcat reads /hr/x)", 400, "400; no backend", anon(s.anon, "/;x/hr/x")},
		{"/hr;x/y: path parameter on the prefix", 400, "400; no backend", anon(s.anon, "/hr;x/y")},
		{"/hr%3Bx/y: encoded ;", 400, "400; no backend", anon(s.anon, "/hr%3Bx/y")},
		// Signed in as alice, past the access rule on /hr/admin.
		{"/hr//admin: doubled slash past the rule", 403, "merged: the rule denies; no backend", alice(s.alice, "/hr//admin")},
		{"/hr//admin over HTTP/2", 403, "merged: the rule denies; no backend", alice(s.h2c, "/hr//admin")},
		{"/hr/%2Fadmin: encoded slash past the rule", 400, "400; no backend", alice(s.alice, "/hr/%2Fadmin")},
		{"/hr/%5Cadmin: encoded backslash past the rule", 400, "400; no backend", alice(s.alice, "/hr/%5Cadmin")},
		{"/hr/x/..;/admin: ..; (Tomcat, Spring)", 400, "400; no backend", alice(s.alice, "/hr/x/..;/admin")},
		{"/hr/;x/admin: empty segment with parameter", 400, "400; no backend", alice(s.alice, "/hr/;x/admin")},
		{"/hr/%252e%252e/hr/admin: double encoding", 400, "400; no backend", alice(s.alice, "/hr/%252e%252e/hr/admin")},
		{"/hr/%C0%AE%C0%AE/hr/admin: overlong UTF-8 dots", 400, "400; no backend", alice(s.alice, "/hr/%C0%AE%C0%AE/hr/admin")},
		{"/hr/x%00.txt: NUL", 400, "400; no backend", alice(s.alice, "/hr/x%00.txt")},
		{"/hr/x%0d%0aX-Injected:%201: CR LF", 400, "400; no backend", alice(s.alice, "/hr/x%0d%0aX-Injected:%201")},
		// The reserved space in other spellings.
		{"/.GATEHOUSE/x: reserved, upper case", 404, "the gateway's 404; no backend", anon(s.anon, "/.GATEHOUSE/x")},
		{"/.GATEHOUSE/x over HTTP/2", 404, "the gateway's 404; no backend", anon(s.h2c, "/.GATEHOUSE/x")},
		{"//.gatehouse/jwks.json: reserved, doubled slash", 200, "the gateway's JWKS; no backend", anon(s.anon, "//.gatehouse/jwks.json")},
		{"/.gatehouse: reserved, no trailing slash", 404, "the gateway's 404; no backend", anon(s.anon, "/.gatehouse")},
		{"/.gatehouse./x: reserved, trailing dot", 404, "the gateway's 404; no backend", anon(s.anon, "/.gatehouse./x")},
		{"/%2e%47ATEHOUSE/x: reserved, encoded", 404, "the gateway's 404; no backend", anon(s.anon, "/%2e%47ATEHOUSE/x")},
	} {
		hostile(t, "path", tc.name, tc.expected, func(t *testing.T) (string, bool) {
			return s.probe(t, tc.want, tc.send)
		})
	}

	// Host and TLS server name.
	for _, tc := range []struct {
		name     string
		want     int
		expected string
		send     func() (int, error)
	}{
		{"SNI portal, Host wiki (HTTP/1.1)", 421, "421; no backend", func() (int, error) {
			return getStatus(sniClient(s.g, "portal.localhost", false), "https://wiki.localhost/x")
		}},
		{"SNI portal, :authority wiki (HTTP/2 coalescing)", 421, "421; no backend", func() (int, error) {
			return getStatus(sniClient(s.g, "portal.localhost", true), "https://wiki.localhost/x")
		}},
		{"absolute-form https://wiki.localhost/x on a portal connection", 421, "421; no backend", func() (int, error) {
			return rawStatus(s.g, "portal.localhost", "GET https://wiki.localhost/x HTTP/1.1\r\nHost: portal.localhost\r\nConnection: close\r\n\r\n")
		}},
		{"absolute-form https://portal.localhost//hr/x, Host wiki", 401, "the URI's host, merged: sign-in asked; no backend", func() (int, error) {
			return rawStatus(s.g, "portal.localhost", "GET https://portal.localhost//hr/x HTTP/1.1\r\nHost: wiki.localhost\r\nConnection: close\r\n\r\n")
		}},
		{"Host portal.localhost:notaport", 400, "400; no backend", func() (int, error) {
			return rawStatus(s.g, "portal.localhost", "GET /x HTTP/1.1\r\nHost: portal.localhost:notaport\r\nConnection: close\r\n\r\n")
		}},
	} {
		hostile(t, "host", tc.name, tc.expected, func(t *testing.T) (string, bool) {
			return s.probe(t, tc.want, tc.send)
		})
	}
}

// TestHostilePathCase: the hr app's backend folds case (IIS), and says
// so with case_insensitive_paths.
func TestHostilePathCase(t *testing.T) {
	s := startPathSetup(t, "case_insensitive_paths: true")
	const portal = "https://portal.localhost"
	for _, tc := range []struct {
		name, path string
		key        bool
		want       int
		expected   string
	}{
		{"/HR/x on an IIS backend, not signed in", "/HR/x", false, 401, "routed to hr: sign-in asked; no backend"},
		{"/hr/ADMIN/x on an IIS backend, past the rule", "/hr/ADMIN/x", true, 403, "the rule sees /hr/admin/x: denied; no backend"},
		{"/Hr/Admin on an IIS backend, past the rule", "/Hr/Admin", true, 403, "the rule sees /hr/admin: denied; no backend"},
		{"/hr/ADMINI~1/x: 8.3 short name", "/hr/ADMINI~1/x", true, 400, "400; no backend"},
	} {
		hostile(t, "path", tc.name, tc.expected, func(t *testing.T) (string, bool) {
			return s.probe(t, tc.want, func() (int, error) {
				if tc.key {
					return getStatus(s.alice, portal+tc.path, "X-Api-Key", apiKey)
				}
				return getStatus(s.anon, portal+tc.path)
			})
		})
	}
	// Control: the prefix reaches the backend as configured, the rest as sent.
	if st, err := getStatus(s.alice, portal+"/HR/Reports/Q1.aspx", "X-Api-Key", apiKey); err != nil || st != 200 {
		t.Fatalf("control: alice at /HR/Reports/Q1.aspx: %d %v", st, err)
	}
	if r, _ := s.hr.last(); r.URI != "/Reports/Q1.aspx" {
		t.Fatalf("control: the hr backend got %q, want /Reports/Q1.aspx", r.URI)
	}
}
