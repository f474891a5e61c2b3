package e2e

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// signOnBackend records the tenant headers of every request it serves.
type signOnBackend struct {
	URL  string
	mu   sync.Mutex
	seen []http.Header
}

func newSignOnBackend(t *testing.T) *signOnBackend {
	t.Helper()
	b := &signOnBackend{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := http.Header{}
		for _, name := range []string{"X-Tenant", "X-Tenant-User", "X-Tenant-Time", "X-Tenant-Signature"} {
			h[name] = r.Header.Values(name)
		}
		b.mu.Lock()
		b.seen = append(b.seen, h)
		b.mu.Unlock()
		fmt.Fprint(w, "ok "+r.URL.RawQuery)
	}))
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

func (b *signOnBackend) requests() []http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]http.Header(nil), b.seen...)
}

// verifyTenantSignature is what the example's README tells a backend to
// do: the tenant, a recent time, and the HMAC under the shared key.
func verifyTenantSignature(h http.Header, key []byte, tenant string) (string, error) {
	for _, name := range []string{"X-Tenant", "X-Tenant-User", "X-Tenant-Time", "X-Tenant-Signature"} {
		if len(h[name]) != 1 {
			return "", fmt.Errorf("%s arrived %d times (%q), want once", name, len(h[name]), h[name])
		}
	}
	user, ts := h.Get("X-Tenant-User"), h.Get("X-Tenant-Time")
	if h.Get("X-Tenant") != tenant {
		return "", fmt.Errorf("X-Tenant %q, want %q", h.Get("X-Tenant"), tenant)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		return "", fmt.Errorf("X-Tenant-Time %q is not a recent Unix time", ts)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(tenant + "\n" + user + "\n" + ts))
	got, err := hex.DecodeString(h.Get("X-Tenant-Signature"))
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return "", fmt.Errorf("X-Tenant-Signature %q does not verify", h.Get("X-Tenant-Signature"))
	}
	return user, nil
}

// buildCustomSignOn builds examples/custom-signon as its author would: a
// module of its own that depends on the SDK alone.
func buildCustomSignOn(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tenant-sig")
	cmd := exec.Command(goTool(), "build", "-C", "examples/custom-signon", "-o", bin, ".")
	cmd.Dir = moduleRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/custom-signon: %v\n%s", err, out)
	}
	return bin
}

// startSignOnConnector enrolls a connector in group with a --config file
// that pins the plug-in at bin with sum, and waits until both its tunnels
// are ready.
func startSignOnConnector(t *testing.T, g *gatewayProc, name, group, bin, sum string) *connectorProc {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "connector.yaml")
	text := fmt.Sprintf("plugins:\n  - name: tenant-sig\n    path: %q\n    sha256: %s\n  - {name: header, builtin: true}\n", bin, sum)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startConnector(t, name, filepath.Join(dir, "state"), "--token", g.token(group, "1h"), "--config", cfg)
	c.waitReady(t, 2)
	return c
}

// TestCustomSignOn runs the custom-signon example end to end: built as its
// own binary, pinned by path and sha256 in a real connector's --config,
// named by the gateway's config. The backend gets the tenant headers with
// a signature it verifies. The failure cases fail closed and show in
// 'gatehouse connectors': a connector whose pinned sha256 is wrong, an
// app whose sign_on config lacks key_file, and a group in which one
// connector accepted and one refused (every request goes to the first).
func TestCustomSignOn(t *testing.T) {
	bin := buildCustomSignOn(t)
	keyHex := make([]byte, 32)
	_, _ = rand.Read(keyHex)
	key := []byte(hex.EncodeToString(keyHex))
	keyFile := filepath.Join(t.TempDir(), "tenant-sig.key")
	if err := os.WriteFile(keyFile, append(key, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	backend := newSignOnBackend(t)
	keySum := sha256.Sum256([]byte(apiKey))
	auth := fmt.Sprintf("{plugin: apikeys, config: {header: X-Api-Key, keys: [{sha256: %s, subject: alice}]}}", hex.EncodeToString(keySum[:]))
	signOn := fmt.Sprintf("{plugin: tenant-sig, config: {tenant: acme, key_file: %q}}", keyFile)
	base := gwConfig{Groups: []string{"a", "b"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: tenant-sig, connector: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	apps := []appSpec{
		{Name: "crm", Host: "crm.localhost", Group: "a", URL: backend.URL, Auth: auth, SignOn: signOn},
		{Name: "nokey", Host: "nokey.localhost", Group: "a", URL: backend.URL, Auth: auth, SignOn: "{plugin: tenant-sig, config: {tenant: acme}}"},
		{Name: "badsum", Host: "badsum.localhost", Group: "b", URL: backend.URL, Auth: auth, SignOn: signOn},
	}
	g := startGatewayWith(t, base, apps)

	t.Run("config check leaves the sign_on config to the connectors", func(t *testing.T) {
		out, errOut, code := runCmd(t, g.dir, gatehouseBin, "config", "check", g.configPath)
		if code != 0 || !strings.Contains(out, `apps[0].sign_on.config: plug-in "tenant-sig" runs at the connectors`) ||
			!strings.Contains(out, "3 sign_on configs left to the connectors") {
			t.Fatalf("config check exited %d:\n%s%s", code, out, errOut)
		}
	})

	t.Run("the example passes the conformance kit", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "check.yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf("tenant: acme\nkey_file: %q\n", keyFile)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runCmd(t, g.dir, gatehouseBin, "plugin", "check", "--kind", "injector", "--config", cfg, bin)
		if code != 0 || !strings.Contains(out, "0 failed") {
			t.Fatalf("plugin check exited %d:\n%s%s", code, out, errOut)
		}
	})

	wrongSum := fileSum(t, customSSOBin) // a real binary's checksum, not this one's
	good := startSignOnConnector(t, g, "connector-good", "a", bin, fileSum(t, bin))
	bad := startSignOnConnector(t, g, "connector-badsum", "a", bin, wrongSum)
	lone := startSignOnConnector(t, g, "connector-lone", "b", bin, wrongSum)
	for _, c := range []*connectorProc{good, bad, lone} {
		g.log().waitLines(t, c.name+"'s sessions attached", 2, "connector session ready", "connector="+c.id(t))
	}
	c := g.client(false)

	t.Run("the backend gets the tenant headers, signed", func(t *testing.T) {
		eventually(t, "crm through the connector", func() bool {
			return getWith(t, c, "https://crm.localhost/?warmup", "X-Api-Key", apiKey).Status == 200
		})
		before := len(backend.requests())
		r := getWith(t, c, "https://crm.localhost/?q=1", "X-Api-Key", apiKey,
			"X-Tenant", "evil", "X-Tenant-User", "mallory", "X-Tenant-Signature", "00")
		if r.Status != 200 || r.Body != "ok q=1" {
			t.Fatalf("GET crm: %d %q", r.Status, r.Body)
		}
		seen := backend.requests()[before:]
		if len(seen) != 1 {
			t.Fatalf("backend saw %d requests, want 1", len(seen))
		}
		user, err := verifyTenantSignature(seen[0], key, "acme")
		if err != nil || user != "alice" {
			t.Fatalf("backend check: user %q, %v (headers %v)", user, err, seen[0])
		}
		if _, err := verifyTenantSignature(seen[0], []byte("another key, also 32 characters or more"), "acme"); err == nil {
			t.Fatal("the signature also verified under another key: the check proves nothing")
		}
	})

	t.Run("one connector accepted, one refused: every request goes to the first", func(t *testing.T) {
		const n = 200
		var failures []string
		for i := range n {
			r := getWith(t, c, fmt.Sprintf("https://crm.localhost/?i=%d", i), "X-Api-Key", apiKey)
			if r.Status != 200 || r.Body != fmt.Sprintf("ok i=%d", i) {
				failures = append(failures, fmt.Sprintf("%d: %d %q", i, r.Status, r.Body))
			}
		}
		if len(failures) > 0 {
			t.Fatalf("%d of %d requests failed; first: %s", len(failures), n, failures[0])
		}
		if n := len(bad.log.lines("request refused before the backend")); n != 0 {
			t.Fatalf("the refusing connector got %d requests", n)
		}
		t.Logf("%d of %d requests succeeded with connector-badsum refusing the app", n, n)
	})

	t.Run("reload under load: crm's sign-on changes, no request fails or reaches the refusing connector", func(t *testing.T) {
		var mu sync.Mutex
		var ok int
		var failures []string
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					q := fmt.Sprintf("w=%d&i=%d", w, i)
					r, err := do(t, c, withHeader(mustRequest(t, "https://crm.localhost/?"+q), "X-Api-Key", apiKey))
					mu.Lock()
					if err != nil || r.Status != 200 || r.Body != "ok "+q {
						failures = append(failures, fmt.Sprintf("%s: %v %d %q", q, err, r.Status, r.Body))
					} else {
						ok++
					}
					mu.Unlock()
				}
			}()
		}
		count := func() int { mu.Lock(); defer mu.Unlock(); return ok }
		eventually(t, "load before the reload", func() bool { return count() >= 50 })
		before := len(backend.requests())
		apps[0].SignOn = strings.Replace(signOn, "tenant: acme", "tenant: globex", 1)
		g.writeConfigText(specYAML(base, apps, g.public, g.tunnel, g.dataDir))
		g.log().waitLines(t, "the reload", 1, "config reloaded")
		eventually(t, "the new tenant at the backend", func() bool {
			seen := backend.requests()
			return len(seen) > before && seen[len(seen)-1].Get("X-Tenant") == "globex"
		})
		after := count()
		eventually(t, "100 more requests", func() bool { return count() >= after+100 })
		close(stop)
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("%d requests failed across the reload; first: %s", len(failures), failures[0])
		}
		for i, h := range backend.requests()[before:] {
			if _, err := verifyTenantSignature(h, key, h.Get("X-Tenant")); err != nil {
				t.Fatalf("request %d after the reload: %v", i, err)
			}
		}
		if n := len(bad.log.lines("request refused before the backend")); n != 0 {
			t.Fatalf("the refusing connector got %d requests", n)
		}
		t.Logf("%d requests across the reload, 0 failed", count())
	})

	checksum := "checksum mismatch"
	t.Run("wrong sha256 at the only connector: 503 page that says why", func(t *testing.T) {
		r := getWith(t, c, "https://badsum.localhost/", "X-Api-Key", apiKey)
		requireErrorPage(t, r, http.StatusServiceUnavailable, "Sign-in to the app unavailable")
		for _, want := range []string{`no connector in group \"b\" accepted sign-on plug-in \"tenant-sig\" for app \"badsum\"`, "refused sign_on.plugin", "gatehouse connectors"} {
			if !strings.Contains(r.Body, strings.ReplaceAll(want, `\"`, `"`)) {
				t.Fatalf("page lacks %q: %s", want, r.Body)
			}
		}
		if strings.Contains(r.Body, checksum) || strings.Contains(r.Body, checksum[:16]) {
			t.Fatalf("the page shows end users the connector's checksums: %s", r.Body)
		}
	})
	t.Run("sign_on config without key_file: 503 naming the field", func(t *testing.T) {
		r := getWith(t, c, "https://nokey.localhost/", "X-Api-Key", apiKey)
		requireErrorPage(t, r, http.StatusServiceUnavailable, "Sign-in to the app unavailable")
		// Group a: the good connector refuses the field, connector-badsum
		// the plug-in; the page quotes whichever refusal it saw first.
		if !strings.Contains(r.Body, `for app "nokey"`) || !(strings.Contains(r.Body, "refused sign_on.config.key_file") || strings.Contains(r.Body, "refused sign_on.plugin")) {
			t.Fatalf("page does not say why: %s", r.Body)
		}
	})

	t.Run("gatehouse connectors shows plug-ins and refusals", func(t *testing.T) {
		out := g.connectorsCLI()
		section := func(id string) string { // its line and the indented ones below
			var lines []string
			for _, l := range strings.Split(out, "\n") {
				switch {
				case strings.HasPrefix(l, id+"  plug-ins:"):
					lines = append(lines, l)
				case len(lines) > 0 && strings.HasPrefix(l, " "):
					lines = append(lines, l)
				case len(lines) > 0:
					return strings.Join(lines, "\n")
				}
			}
			if len(lines) == 0 {
				t.Fatalf("no sign-on section for %s:\n%s", id, out)
			}
			return strings.Join(lines, "\n")
		}
		goodS, badS, loneS := section(good.id(t)), section(bad.id(t)), section(lone.id(t))
		for _, want := range []string{"header, kcd, vault (built in)", "tenant-sig (sha256 " + fileSum(t, bin)[:16], "accepted: crm",
			`REFUSED app "nokey" (plug-in "tenant-sig"): sign_on.config.key_file: required`} {
			if !strings.Contains(goodS, want) {
				t.Errorf("connector-good's section lacks %q:\n%s", want, goodS)
			}
		}
		for _, s := range []string{badS, loneS} {
			if !strings.Contains(s, "tenant-sig (sha256 "+wrongSum[:16]) || !strings.Contains(s, `(plug-in "tenant-sig"): sign_on.plugin: `) ||
				!strings.Contains(s, checksum) || strings.Contains(s, "accepted:") {
				t.Errorf("a wrong-sha256 connector's section does not show its refusal:\n%s", s)
			}
		}
		if !strings.Contains(badS, `REFUSED app "crm"`) || !strings.Contains(badS, `REFUSED app "nokey"`) || !strings.Contains(loneS, `REFUSED app "badsum"`) {
			t.Errorf("refusals missing:\n%s", out)
		}
		t.Logf("gatehouse connectors:\n%s", out)
	})

	t.Run("the key is in no log, page or listing", func(t *testing.T) {
		for name, text := range map[string]string{"gateway log": g.log().String(), "good log": good.log.String(),
			"badsum log": bad.log.String(), "lone log": lone.log.String(), "connectors": g.connectorsCLI()} {
			if strings.Contains(text, string(key)) {
				t.Errorf("the HMAC key appears in the %s", name)
			}
		}
	})
}

// A connector's --config with a mistake stops it before it dials, with
// file, line and key.
func TestCustomSignOnBadConnectorConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "connector.yaml")
	text := "plugins:\n  - name: tenant-sig\n    path: ./tenant-sig\n    sha256: abc\n  - {name: header, path: /bin/true, sha256: " + strings.Repeat("0", 64) + "}\nlisten: x\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCmd(t, dir, connectorBin, "--state", filepath.Join(dir, "state"), "--config", cfg)
	for _, want := range []string{
		cfg + ":4:13: plugins[0].sha256: want the 64 hex digits of the executable's SHA-256 (run: sha256sum ./tenant-sig)",
		cfg + `:5:12: plugins[1].name: "header" is the name of a plug-in built into gatehouse-connector`,
		cfg + `:6:1: listen: unknown key "listen" (known keys: plugins)`,
	} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("exit %d; stderr lacks %q:\n%s", code, want, errOut)
		}
	}
}
