package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStoreMigrate is must-show 5 of the PostgreSQL work: a gateway on
// SQLite with an ACME certificate (from Pebble), an enrolled connector, a
// signed-in session, a revoked user, a signed-out session and an unused
// enrollment token is stopped; "gatehouse store migrate" copies its store
// into an empty PostgreSQL database; a gateway with the same config but
// store.driver postgres then serves the same certificate without a new
// ACME order, the connector reconnects with its certificate and serves,
// the session still admits its user, the revoked and signed-out sessions
// stay refused, and the token enrolls a second connector.
func TestStoreMigrate(t *testing.T) {
	dsnFile := pgLabDSNFile(t)
	backend := newIdentityBackend(t, "x")
	dir := t.TempDir()
	g := &acmeGateway{gatewayProc: &gatewayProc{t: t, dir: dir, configPath: filepath.Join(dir, "gatehouse.yaml"),
		dataDir: filepath.Join(dir, "data"), public: freeAddr(t), tunnel: freeAddr(t)}, http: freeAddr(t)}
	_, httpPort, _ := net.SplitHostPort(g.http)
	_, tlsPort, _ := net.SplitHostPort(g.public)
	g.pebble = startPebble(t, httpPort, tlsPort)
	roots := g.pebble.roots(t)
	config := func(storeYAML string) string {
		key := func(k, sub string) string {
			sum := sha256.Sum256([]byte(k))
			return fmt.Sprintf("{sha256: %s, subject: %s, groups: [hr]}", hex.EncodeToString(sum[:]), sub)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "data_dir: %q\n%slisten:\n  public: %q\n  tunnel: %q\n  http: %q\n", g.dataDir, storeYAML, g.public, g.tunnel, g.http)
		fmt.Fprintf(&b, "tls:\n  mode: acme\n  acme:\n    directory: %s\n    email: e2e@example.test\n    ca_roots: %q\n    challenges: [tls-alpn-01]\n",
			g.pebble.dir, g.pebble.certFile)
		fmt.Fprintf(&b, "plugins:\n  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))
		b.WriteString("log:\n  level: info\nconnector_groups:\n  - name: default\napps:\n")
		fmt.Fprintf(&b, "  - name: grp\n    host: grp.gateway.test\n    group: default\n    auth: {plugin: apikeys, config: {keys: [%s, %s, %s]}}\n",
			key("k-alice", "alice"), key("k-bob", "bob"), key("k-carol", "carol"))
		fmt.Fprintf(&b, "    sign_on: {plugin: header, config: {headers: {X-Remote-User: \"{{.Subject}}\"}}}\n    access: {groups: [hr]}\n")
		fmt.Fprintf(&b, "    backend:\n      url: %q\n      timeout: 30s\n", backend.URL)
		return b.String()
	}
	c := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, g.public)
			}}}
	const url = "https://grp.gateway.test/"
	signIn := func(key string) string {
		t.Helper()
		var cookie string
		eventually(t, key+" signed in through the connector", func() bool {
			r := getWith(t, c, url, "X-Api-Key", key)
			for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
				if sc.Name == "__Host-gatehouse.grp" {
					cookie = sc.Name + "=" + sc.Value
				}
			}
			return r.Status == http.StatusOK && cookie != ""
		})
		return cookie
	}

	// 1. The gateway on SQLite.
	g.run(t, config(""))
	cert, err := g.handshake("grp.gateway.test", roots)
	if err != nil {
		t.Fatalf("ACME certificate on SQLite: %v", err)
	}
	orders := g.pebble.orders()
	conn := enrollConnector(t, g.gatewayProc, "connector", "default")
	alice, bob, carol := signIn("k-alice"), signIn("k-bob"), signIn("k-carol")
	if out, errOut, code := runCmd(t, dir, gatehouseBin, "sessions", "revoke", "--config", g.configPath, "--user", "bob"); code != 0 {
		t.Fatalf("sessions revoke: exit %d %s%s", code, out, errOut)
	}
	getWith(t, c, url+".gatehouse/auth/grp/signout", "Cookie", carol)
	for _, ck := range []string{bob, carol} { // revoked, signed out
		requireErrorPage(t, getWith(t, c, url, "Cookie", ck), http.StatusUnauthorized, "Sign-in required")
	}
	unused := g.token("default", "1h")
	g.stop()

	// 2. Migrate: a dry run writes nothing; a wrong source or target is
	// refused with exit 1 or 2 and never prints the password.
	sqlitePath := filepath.Join(g.dataDir, "gatehouse.db")
	dsn, err := os.ReadFile(dsnFile)
	if err != nil {
		t.Fatal(err)
	}
	from, to := "sqlite:"+sqlitePath, "postgres-file:"+dsnFile
	for range 2 {
		out, errOut, code := runCmd(t, dir, gatehouseBin, "store", "migrate", "--from", from, "--to", to, "--dry-run")
		if code != 0 || !strings.Contains(out, "nothing was written") || !strings.Contains(out, "connectors        1") {
			t.Fatalf("store migrate --dry-run: exit %d\n%s%s", code, out, errOut)
		}
	}
	pw := labPassword(t, strings.TrimSpace(string(dsn)))
	dead, err := neturl.Parse(strings.TrimSpace(string(dsn)))
	if err != nil {
		t.Fatal(err)
	}
	dead.Host = "127.0.0.1:1"
	if _, errOut, code := runCmd(t, dir, gatehouseBin, "store", "migrate", "--from", from, "--to", "postgres:"+dead.String()); code != 1 || strings.Contains(errOut, pw) {
		t.Fatalf("store migrate to a dead port: exit %d, password shown: %v\n%s", code, strings.Contains(errOut, pw), errOut)
	}
	out, errOut, code := runCmd(t, dir, gatehouseBin, "store", "migrate", "--from", from, "--to", to)
	t.Logf("store migrate: exit %d\n%s%s", code, out, errOut)
	if code != 0 || !strings.Contains(out, "verified") || strings.Contains(out+errOut, pw) {
		t.Fatalf("store migrate: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runCmd(t, dir, gatehouseBin, "store", "migrate", "--from", from, "--to", to); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("a second store migrate into the same database: exit %d %s; want 1 and a refusal", code, errOut)
	}

	// 3. The same config on PostgreSQL, on the same addresses.
	if err := os.Rename(sqlitePath, sqlitePath+".moved"); err != nil { // nothing may read it any more
		t.Fatal(err)
	}
	g.run(t, config(fmt.Sprintf("store:\n  driver: postgres\n  dsn_file: %q\n", dsnFile)))
	again, err := g.handshake("grp.gateway.test", roots)
	if err != nil {
		t.Fatalf("certificate on PostgreSQL: %v", err)
	}
	if sha256.Sum256(again.Raw) != sha256.Sum256(cert.Raw) || g.pebble.orders() != orders {
		t.Fatalf("on PostgreSQL: same certificate = %v, ACME orders %d -> %d; want the migrated one and no order",
			sha256.Sum256(again.Raw) == sha256.Sum256(cert.Raw), orders, g.pebble.orders())
	}
	conn.waitReady(t, 4) // two tunnels to the SQLite gateway, then two to the PostgreSQL one
	var r response
	eventually(t, "alice's session from SQLite served on PostgreSQL", func() bool {
		r = getWith(t, c, url, "Cookie", alice)
		return r.Status != http.StatusServiceUnavailable // until the connector's sessions attach
	})
	if s := decodeSeen(t, r); s.User != "alice" {
		t.Fatalf("alice's session after the migration: %d %+v", r.Status, s)
	}
	requireErrorPage(t, getWith(t, c, url, "Cookie", bob), http.StatusUnauthorized, "Sign-in required")
	requireErrorPage(t, getWith(t, c, url, "Cookie", carol), http.StatusUnauthorized, "Sign-in required")
	if list := g.connectorsCLI(); !strings.Contains(list, conn.id(t)) {
		t.Fatalf("the PostgreSQL gateway does not list connector %s:\n%s", conn.id(t), list)
	}
	second := startConnector(t, "second", filepath.Join(t.TempDir(), "second"), "--token", unused)
	second.waitReady(t, 2)
	t.Logf("certificate sha256 %x kept; ACME orders %d; connector %s reconnected; a token from SQLite enrolled %s",
		sha256.Sum256(cert.Raw), orders, conn.id(t), second.id(t))
}

// labPassword returns the password of a postgres:// DSN, which no output
// may show.
func labPassword(t *testing.T, dsn string) string {
	t.Helper()
	_, rest, _ := strings.Cut(dsn, "://")
	userinfo, _, _ := strings.Cut(rest, "@")
	_, pw, ok := strings.Cut(userinfo, ":")
	if !ok || len(pw) < 8 {
		t.Fatalf("the lab's DSN has no password to look for")
	}
	return pw
}
