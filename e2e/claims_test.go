package e2e

// Tests for README security claims that no other test proved; SECURITY.md
// ("How it is tested") names the test of every claim.

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stateFiles reads every file under dir, by path relative to dir; a
// directory, link or other non-regular entry fails the test.
func stateFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case p == dir:
			return nil
		case !d.Type().IsRegular():
			t.Errorf("the state directory holds %s, which is not a regular file (%v)", rel, d.Type())
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// apiKeyAuth is an auth: value that signs in subject with key, through
// the custom-SSO example plug-in (catalog name apikeys).
func apiKeyAuth(key, subject string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("{plugin: apikeys, config: {keys: [{sha256: %s, subject: %s}]}}", hex.EncodeToString(sum[:]), subject)
}

// README, Security defaults: the connector "keeps no state but its key,
// certificate and pinned CA". After enrollment and a run with a sign-on
// plug-in and traffic, its state directory holds exactly those three and
// connector.json, whose fields are its id, group, gateway addresses, the
// gateway's public identity key and the release public key when the token
// had one; nothing holds the enrollment token.
// A later run, without a token, changes nothing there.
func TestConnectorKeepsOnlyItsKeys(t *testing.T) {
	backend := newEchoServer(t, "app")
	g := startGatewayWith(t, gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))},
		[]appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: backend.URL, Auth: apiKeyAuth("k-alice", "alice"),
			SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`}})
	state := filepath.Join(t.TempDir(), "state")
	token := g.token("default", "1h")
	conn := startConnector(t, "connector", state, "--token", token)
	conn.waitReady(t, 2)
	c := g.client(false)
	signedIn := func(path string) bool {
		return getWith(t, c, "https://app.localhost"+path, "X-Api-Key", "k-alice").Status == http.StatusOK
	}
	eventually(t, "alice served through the connector", func() bool { return signedIn("/first-run") })
	for i := range 20 {
		if !signedIn(fmt.Sprintf("/%d", i)) {
			t.Fatalf("request %d failed", i)
		}
	}
	conn.signal(t, syscall.SIGTERM)
	conn.wait(t)

	check := func(files map[string][]byte) {
		t.Helper()
		want := []string{"cert.pem", "connector.json", "gateway-ca.pem", "key.pem"}
		if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, want) {
			t.Fatalf("the state directory holds %q; want only %q", got, want)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(files["connector.json"], &fields); err != nil {
			t.Fatalf("connector.json: %v", err)
		}
		delete(fields, "release_key") // a public key, there when the token carried one
		if got, want := slices.Sorted(maps.Keys(fields)), []string{"bootstrap", "connector_id", "envelope_key", "gateways", "group"}; !slices.Equal(got, want) {
			t.Errorf("connector.json has the fields %q; want only connector_id, group, gateways, bootstrap, envelope_key and release_key", got)
		}
		for name, b := range files {
			if strings.Contains(string(b), token) || strings.Contains(string(b), strings.TrimPrefix(token, "gh1_")) {
				t.Errorf("%s holds the enrollment token", name)
			}
		}
		if info, err := os.Stat(filepath.Join(state, "key.pem")); err != nil {
			t.Error(err)
		} else if info.Mode().Perm() != 0o600 {
			t.Errorf("key.pem has mode %v; want 0600", info.Mode().Perm())
		}
	}
	first := stateFiles(t, state)
	check(first)

	conn = startConnector(t, "connector-again", state)
	conn.waitReady(t, 2)
	eventually(t, "alice served after the restart", func() bool { return signedIn("/second-run") })
	conn.signal(t, syscall.SIGTERM)
	conn.wait(t)
	second := stateFiles(t, state)
	check(second)
	if !maps.EqualFunc(first, second, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Error("a run without a token changed the state directory")
	}
}

// README, Security defaults: "X-Forwarded-For is appended to, never
// trusted" — in particular never for access rules. A client on loopback
// that names an allowed address in X-Forwarded-For, X-Real-Ip and
// Forwarded is still blocked by block_ips, is still outside allow_ips,
// and the decision names its real address; the backend sees nothing.
func TestForwardedForNeverCountsForAccess(t *testing.T) {
	backend := newIdentityBackend(t, "x")
	auth := apiKeyAuth("k-alice", "alice")
	app := func(name, access string) appSpec {
		return appSpec{Name: name, Host: name + ".localhost", Group: "default", URL: backend.URL, Auth: auth, Access: access}
	}
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startGatewayWith(t, base, []appSpec{
		app("blocked", `{block_ips: ["127.0.0.0/8", "::1"], allow_ips: ["203.0.113.0/24"]}`),
		app("elsewhere", `{allow_ips: ["203.0.113.0/24"]}`),
		app("local", `{allow_ips: ["127.0.0.0/8", "::1"]}`),
	})
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	// The control: the rule works on the client's real address.
	eventually(t, "alice allowed from loopback", func() bool {
		return getWith(t, c, "https://local.localhost/", "X-Api-Key", "k-alice").Status == http.StatusOK
	})
	forged := []string{"X-Api-Key", "k-alice", "X-Forwarded-For", "203.0.113.7", "X-Real-Ip", "203.0.113.7", "Forwarded", "for=203.0.113.7"}
	for _, tc := range []struct{ app, rule string }{
		{"blocked", "access.block_ips"},
		{"elsewhere", "access.allow_ips"},
	} {
		t.Run(tc.app, func(t *testing.T) {
			before := backend.hits.Load()
			rid := requireErrorPage(t, getWith(t, c, "https://"+tc.app+".localhost/", forged...), http.StatusForbidden, "Access denied")
			if n := backend.hits.Load() - before; n != 0 {
				t.Fatalf("the backend saw %d requests", n)
			}
			line := g.proc.log.waitLines(t, "the decision", 1, "access denied", "request_id="+rid, "rule="+tc.rule)[0]
			if !strings.Contains(line, "127.0.0.1") || strings.Contains(line, "203.0.113.7") {
				t.Errorf("the decision was made on another address than the client's own: %s", line)
			}
		})
	}
}

// README, Security defaults: "Public TLS is 1.2 or newer." A client that
// offers at most TLS 1.1 or 1.0 gets no handshake; TLS 1.2 and 1.3 do.
func TestPublicTLSIsOneTwoOrNewer(t *testing.T) {
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	for _, tc := range []struct {
		name     string
		min, max uint16
		ok       bool
	}{
		{"TLS 1.0", tls.VersionTLS10, tls.VersionTLS10, false},
		{"TLS 1.1", tls.VersionTLS10, tls.VersionTLS11, false},
		{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12, true},
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.public, &tls.Config{
				ServerName: "app.localhost", RootCAs: g.caPool(), MinVersion: tc.min, MaxVersion: tc.max,
				// TLS 1.0 and 1.1 need these: offer them, so only the version decides.
				CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
					tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
			})
			if err == nil {
				defer conn.Close()
			}
			switch {
			case tc.ok && err != nil:
				t.Fatalf("handshake failed: %v", err)
			case tc.ok && conn.ConnectionState().Version != tc.max:
				t.Fatalf("negotiated %x, want %x", conn.ConnectionState().Version, tc.max)
			case !tc.ok && err == nil:
				t.Fatalf("the gateway accepted %s (negotiated %x)", tc.name, conn.ConnectionState().Version)
			case !tc.ok && !strings.Contains(err.Error(), "protocol version"):
				t.Fatalf("handshake failed, but not on the version: %v", err)
			}
		})
	}
}

// README, Security defaults: "tls.mode: self-signed is for development
// only and says so in the log at every start."
func TestSelfSignedWarningAtEveryStart(t *testing.T) {
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	const warning = "tls.mode is self-signed: for development only"
	for start := 1; start <= 2; start++ {
		g.proc.log.waitLines(t, "the self-signed warning", 1, "level=WARN", warning, "ca_file="+g.devCAFile())
		if n := g.proc.log.Count(warning); n != 1 {
			t.Fatalf("start %d: the warning appears %d times", start, n)
		}
		if start == 1 {
			g.stop()
			g.start()
		}
	}
}
