package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// secret is a random value no log line could contain by chance.
func secret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// README, Security defaults: "Secrets never reach logs." A gateway and a
// connector, both at debug level, go through enrollment with a token,
// sign-ins with an API key (and a refused one), a session cookie, vault
// credentials entered on the gateway's page and opened at the connector,
// and a sign-on plug-in whose config holds a shared secret that the
// backend checks. Every one of those secrets did its job (the backend
// checks each), and neither log contains any of them, in plain text or
// in the base64 of a Basic Authorization header.
func TestSecretsNeverLogged(t *testing.T) {
	var (
		apiKey       = secret(t, "k-")
		wrongKey     = secret(t, "k-wrong-")
		sharedSecret = secret(t, "shared-")
		vaultUser    = secret(t, "user-")
		vaultPass    = secret(t, "pass-")
	)
	backend := newHeaderCheckBackend(t, sharedSecret, vaultUser, vaultPass)

	keyFile := filepath.Join(t.TempDir(), "vault.key")
	out, errOut, code := runCmd(t, "", connectorBin, "vault-key", "--out", keyFile)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) < 3 {
		t.Fatalf("vault-key: exit %d %q %q", code, out, errOut)
	}
	pub := lines[len(lines)-1]

	base := gwConfig{Groups: []string{"default"}, LogLevel: "debug", Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n  - {name: vault, builtin: true}\n",
		customSSOBin, fileSum(t, customSSOBin))}
	g := newGateway(t, base)
	auth := apiKeyAuth(apiKey, "alice")
	text := specYAML(base, []appSpec{
		{Name: "hdr", Host: "hdr.localhost", Group: "default", URL: backend.URL, Auth: auth,
			SignOn: fmt.Sprintf(`{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Shared-Secret: %q}}}`, sharedSecret)},
		{Name: "vlt", Host: "vlt.localhost", Group: "default", URL: backend.URL, Auth: auth,
			SignOn: fmt.Sprintf("{plugin: vault, config: {mode: basic, key_file: %q}}", keyFile)},
	}, g.public, g.tunnel, g.dataDir)
	i := strings.LastIndex(text, "    backend:\n") // the vlt app's
	text = text[:i] + fmt.Sprintf("    vault: {public_key: %q}\n", pub) + text[i:]
	g.writeConfigText(text)
	g.start()
	token := g.token("default", "1h")
	conn := startConnector(t, "connector", filepath.Join(t.TempDir(), "state"), "--token", token, "--log-level", "debug")
	conn.waitReady(t, 2)

	c := g.client(false)
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	// Sign in with the API key; the plug-in's shared secret reaches the backend.
	eventually(t, "alice signed in through the connector", func() bool {
		return getWith(t, c, "https://hdr.localhost/secret-header", "X-Api-Key", apiKey).Status == http.StatusOK
	})
	if r := getWith(t, g.client(false), "https://hdr.localhost/", "X-Api-Key", wrongKey); r.Status != http.StatusUnauthorized { // no session: a client without the jar
		t.Fatalf("a wrong API key: %d, want 401", r.Status)
	}
	// The session cookie alone, from the jar.
	u, _ := url.Parse("https://hdr.localhost/")
	var cookie string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-gatehouse.hdr" {
			cookie = ck.Value
		}
	}
	if len(cookie) < 20 {
		t.Fatalf("no session cookie after sign-in: %v", c.Jar.Cookies(u))
	}
	if r := get(t, c, "https://hdr.localhost/secret-header"); r.Status != http.StatusOK {
		t.Fatalf("with the session cookie: %d %q", r.Status, r.Body)
	}

	// Vault credentials, entered on the gateway's page, opened at the
	// connector, sent to the backend as Basic.
	if r := getWith(t, c, "https://vlt.localhost/basic", "X-Api-Key", apiKey); r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Credentials needed") {
		t.Fatalf("before credentials: %d %q", r.Status, r.Body)
	}
	form := url.Values{"action": {"save"}, "username": {vaultUser}, "password": {vaultPass}, "return": {"/basic"}}
	req, _ := http.NewRequest(http.MethodPost, "https://vlt.localhost/.gatehouse/auth/vlt/credentials", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://vlt.localhost")
	if r, err := do(t, c, req); err != nil || r.Status != http.StatusSeeOther {
		t.Fatalf("saving credentials: %v %d %q", err, r.Status, r.Body)
	}
	if r := get(t, c, "https://vlt.localhost/basic"); r.Status != http.StatusOK || r.Body != "basic ok" {
		t.Fatalf("with vault credentials: %d %q", r.Status, r.Body)
	}

	secrets := map[string]string{
		"enrollment token":        token,
		"API key":                 apiKey,
		"refused API key":         wrongKey,
		"session cookie":          cookie,
		"plug-in config secret":   sharedSecret,
		"vault password":          vaultPass,
		"vault Basic credentials": base64.StdEncoding.EncodeToString([]byte(vaultUser + ":" + vaultPass)),
	}
	for name, l := range map[string]*logBuffer{"gateway": &g.proc.log, "connector": &conn.log} {
		log := l.String()
		if !strings.Contains(log, "level=DEBUG") {
			t.Fatalf("the %s logged nothing at debug level: the check would prove little", name)
		}
		for what, s := range secrets {
			if strings.Contains(log, s) {
				t.Errorf("the %s's log holds the %s", name, what)
			}
		}
	}
}

// newHeaderCheckBackend answers 200 "header ok" on /secret-header when the
// sign-on plug-in's shared secret arrived, and 200 "basic ok" on /basic
// for the vault's Basic credentials (401 with a Basic challenge without
// them, which the vault plug-in reads as "credentials refused").
func newHeaderCheckBackend(t *testing.T, shared, user, pass string) *httptest.Server {
	t.Helper()
	srv := http.NewServeMux()
	srv.HandleFunc("/secret-header", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Shared-Secret") != shared || r.Header.Get("X-Remote-User") != "alice" {
			http.Error(w, "no shared secret", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, "header ok")
	})
	srv.HandleFunc("/basic", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="secrets"`)
			http.Error(w, "credentials refused", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "basic ok")
	})
	srv.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}
