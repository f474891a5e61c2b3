package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// keyBrowser is a "browser" that signs in to the apps with an API key
// (the apikeys plug-in): it keeps cookies, follows redirects, reaches the
// apps' hosts through the gateway and anything else (the loopback
// callback) directly.
func keyBrowser(g *gatewayProc, key string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); strings.HasSuffix(host, ".localhost") {
				addr = g.public
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: g.caPool()},
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: keyTransport{tr, key}}
}

// keyTransport sends the API key to the apps' hosts only.
type keyTransport struct {
	rt  http.RoundTripper
	key string
}

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if strings.HasSuffix(r.URL.Hostname(), ".localhost") {
		r.Header.Set("Authorization", "Bearer "+k.key)
	}
	return k.rt.RoundTrip(r)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return string(b)
}

// echoThrough writes through a connection to gatehouse connect's listener
// and reads the echo back.
func echoThrough(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len(msg))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != msg {
		t.Fatalf("echo through gatehouse connect: %q %v", b, err)
	}
}

// checkCache checks the cached session: one file, mode 0600, with a token.
func checkCache(t *testing.T, dir string) {
	t.Helper()
	file := filepath.Join(dir, "gatehouse", "echo.localhost.json")
	st, err := os.Stat(file)
	must(t, err)
	b, err := os.ReadFile(file)
	must(t, err)
	if st.Mode().Perm() != 0o600 || !strings.Contains(string(b), `"token":"`) {
		t.Fatalf("cache file %s: mode %v, %d bytes; want 0600 with a token", file, st.Mode().Perm(), len(b))
	}
}

// TestConnectSignIn: gatehouse connect signs in through a browser (the
// loopback redirect) and with the device-code flow, against the real
// gateway, connector and an apikeys app, and carries a TCP connection
// with the token it cached.
func TestConnectSignIn(t *testing.T) {
	echo := newTCPEcho(t)
	sum := sha256.Sum256([]byte("Bearer key-alice"))
	auth := fmt.Sprintf("{plugin: apikeys, config: {header: Authorization, keys: [{sha256: %s, subject: alice, groups: [admins]}]}}", hex.EncodeToString(sum[:]))
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startGatewayWith(t, base, []appSpec{{Name: "echo", Host: "echo.localhost", Group: "default", Auth: auth,
		Access: "{groups: [admins]}", TCP: fmt.Sprintf("{backend: %q}", echo.addr)}})
	enrollConnector(t, g, "connector", "default")
	browser := keyBrowser(g, "key-alice")
	connect := func(extra ...string) (*proc, net.Conn) {
		addr := freeAddr(t)
		args := append([]string{"connect", "https://echo.localhost", "--listen", addr, "--no-browser",
			"--ca-file", g.devCAFile(), "--connect-to", g.public}, extra...)
		p := startProc(t, "gatehouse connect", gatehouseBin, args...)
		p.log.waitLines(t, "gatehouse connect to listen", 1, "listening on "+addr)
		c, err := net.Dial("tcp", addr) // the first connection asks for a sign-in
		must(t, err)
		t.Cleanup(func() { c.Close() })
		return p, c
	}

	t.Run("browser: the loopback redirect", func(t *testing.T) {
		cache := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", cache)
		p, c := connect()
		line := p.log.waitLines(t, "the sign-in address", 1, "/.gatehouse/cli/login?port=")[0]
		login := strings.TrimSpace(line)
		resp, err := browser.Get(login)
		must(t, err)
		if body := readAll(t, resp); resp.StatusCode != http.StatusOK || resp.Request.URL.Host[:10] != "127.0.0.1:" || !strings.Contains(body, "Signed in") {
			t.Fatalf("the browser ended at %s: %d %s", resp.Request.URL.Redacted(), resp.StatusCode, body)
		}
		p.log.waitLines(t, "gatehouse connect to sign in", 1, "signed in to echo.localhost")
		echoThrough(t, c, "loopback sign-in")
		checkCache(t, cache)
		g.proc.log.waitLines(t, "the gateway's token line", 1, "cli sign-in: token issued", "subject=alice")
	})

	t.Run("device code", func(t *testing.T) {
		cache := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", cache)
		p, c := connect("--device")
		p.log.waitLines(t, "the device code", 1, "and check the code ")
		verify := regexp.MustCompile(`https://echo\.localhost/\.gatehouse/cli/device\?user_code=(\S+)`).FindStringSubmatch(p.log.String())
		code := regexp.MustCompile(`check the code ([A-Z]{4}-[A-Z]{4})`).FindStringSubmatch(p.log.String())
		if verify == nil || code == nil || verify[1] != code[1] {
			t.Fatalf("gatehouse connect --device printed:\n%s", p.log.String())
		}
		resp, err := browser.Get(verify[0])
		must(t, err)
		page := readAll(t, resp)
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || csrf == nil || !strings.Contains(page, code[1]) || !strings.Contains(page, "echo.localhost") {
			t.Fatalf("the approval page: %d %s", resp.StatusCode, page)
		}
		form := url.Values{"user_code": {code[1]}, "csrf": {csrf[1]}, "action": {"approve"}}
		approve := func() (*http.Response, string) {
			resp, err := browser.PostForm("https://echo.localhost/.gatehouse/cli/device", form)
			must(t, err)
			return resp, readAll(t, resp)
		}
		if resp, body := approve(); resp.StatusCode != http.StatusOK || !strings.Contains(body, "approved") {
			t.Fatalf("approving: %d %s", resp.StatusCode, body)
		}
		// A second approval of the same code is refused: 409 while the
		// command has not traded it yet, 404 once it has.
		if resp, body := approve(); (resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusNotFound) || !strings.Contains(body, "already used") {
			t.Fatalf("a second approval: %d %s", resp.StatusCode, body)
		}
		p.log.waitLines(t, "gatehouse connect to sign in", 1, "signed in to echo.localhost")
		echoThrough(t, c, "device sign-in")
		checkCache(t, cache)
		g.proc.log.waitLines(t, "the gateway's approval line", 1, "cli device sign-in answered", "subject=alice", "approved=true")
	})

	t.Run("refusals: unknown codes, forged device codes", func(t *testing.T) {
		resp, err := browser.Get("https://echo.localhost/.gatehouse/cli/device?user_code=BBBB-BBBB")
		must(t, err)
		if body := readAll(t, resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "unknown") {
			t.Fatalf("an unknown user code: %d %s", resp.StatusCode, body)
		}
		resp, err = g.client(false).PostForm("https://echo.localhost/.gatehouse/cli/token", url.Values{"device_code": {"forged"}})
		must(t, err)
		if body := readAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_grant"`) {
			t.Fatalf("a forged device code: %d %s", resp.StatusCode, body)
		}
		// Approving without a session is refused (a fresh client, no key, no cookie).
		resp, err = g.client(false).PostForm("https://echo.localhost/.gatehouse/cli/device", url.Values{"user_code": {"BBBB-BBBB"}, "csrf": {"x"}, "action": {"approve"}})
		must(t, err)
		if body := readAll(t, resp); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an approval without a session: %d %s", resp.StatusCode, body)
		}
		g.proc.log.waitLines(t, "the refusals logged", 1, "cli device sign-in refused: approval without a session")
		g.proc.log.waitLines(t, "the refusals logged", 1, "cli device sign-in refused: unknown, used or expired user code")
	})
}
