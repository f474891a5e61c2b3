package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// acmeGateway is a gateway in tls.mode acme against a Pebble server.
type acmeGateway struct {
	*gatewayProc
	http   string // listen.http
	pebble *pebbleServer
}

// config renders a config with the given challenges and app hosts.
func (g *acmeGateway) config(challenges string, hosts ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nlisten:\n  public: %q\n  tunnel: %q\n  http: %q\n", g.dataDir, g.public, g.tunnel, g.http)
	fmt.Fprintf(&b, "tls:\n  mode: acme\n  acme:\n    directory: %s\n    email: e2e@example.test\n    ca_roots: %q\n    challenges: [%s]\n",
		g.pebble.dir, g.pebble.certFile, challenges)
	b.WriteString("log:\n  level: info\nconnector_groups:\n  - name: default\napps:\n")
	for i, h := range hosts {
		fmt.Fprintf(&b, "  - name: app%d\n    host: %s\n    group: default\n    auth: passthrough\n    backend:\n      url: http://127.0.0.1:9\n", i, h)
	}
	return b.String()
}

// run starts the gateway on text and waits until it serves.
func (g *acmeGateway) run(t *testing.T, text string) {
	t.Helper()
	g.writeConfigText(text)
	g.proc = startProc(t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
	eventually(t, "the ACME gateway to serve", func() bool {
		g.proc.requireAlive(t)
		return strings.Contains(g.proc.log.String(), "gateway serving")
	})
}

// reload writes text and sends SIGHUP, waiting for the new config.
func (g *acmeGateway) reload(t *testing.T, text string) {
	t.Helper()
	n := g.proc.log.Count("config applied")
	g.writeConfigText(text)
	g.proc.signal(t, syscall.SIGHUP)
	eventually(t, "the config reload", func() bool { return g.proc.log.Count("config applied") > n })
}

// handshake does a TLS handshake for host, verified against roots, and
// returns the leaf certificate.
func (g *acmeGateway) handshake(host string, roots *x509.CertPool) (*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 60 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", g.public, &tls.Config{ServerName: host, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// TestACME runs the gateway against a real ACME server (Pebble): it gets
// certificates by TLS-ALPN-01 and by HTTP-01 for published hosts only,
// keeps them in the store across restarts, gets one for an app added by a
// reload, and keeps serving what it has when the CA is unreachable.
func TestACME(t *testing.T) {
	dir := t.TempDir()
	g := &acmeGateway{gatewayProc: &gatewayProc{t: t, dir: dir, configPath: filepath.Join(dir, "gatehouse.yaml"),
		dataDir: filepath.Join(dir, "data"), public: freeAddr(t), tunnel: freeAddr(t)}, http: freeAddr(t)}
	_, httpPort, _ := net.SplitHostPort(g.http)
	_, tlsPort, _ := net.SplitHostPort(g.public)
	g.pebble = startPebble(t, httpPort, tlsPort)
	roots := g.pebble.roots(t)

	// 1a. TLS-ALPN-01 only.
	g.run(t, g.config("tls-alpn-01", "alpn.gateway.test"))
	cert, err := g.handshake("alpn.gateway.test", roots)
	if err != nil {
		t.Fatalf("TLS-ALPN-01: handshake for a published host: %v", err)
	}
	if cert.DNSNames[0] != "alpn.gateway.test" {
		t.Fatalf("TLS-ALPN-01: certificate for %q, want alpn.gateway.test", cert.DNSNames)
	}
	orders := g.pebble.orders()
	if orders != 1 {
		t.Fatalf("pebble saw %d orders after the first certificate, want 1", orders)
	}

	// 2. An unpublished host: no order, failed handshake.
	if _, err := g.handshake("nope.gateway.test", roots); err == nil {
		t.Fatal("handshake for an unpublished host succeeded")
	}
	if n := g.pebble.orders(); n != orders {
		t.Fatalf("an unpublished host caused %d ACME orders", n-orders)
	}

	// 3 + 1b. Restart with HTTP-01 only: the stored certificate is reused
	// without an order; a second host gets one by HTTP-01.
	g.stop()
	g.run(t, g.config("http-01", "alpn.gateway.test", "http.gateway.test"))
	again, err := g.handshake("alpn.gateway.test", roots)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if !again.Equal(cert) || g.pebble.orders() != orders {
		t.Fatalf("after restart: certificate reused = %v, orders %d -> %d; want the stored one and no order",
			again.Equal(cert), orders, g.pebble.orders())
	}
	if _, err := g.handshake("http.gateway.test", roots); err != nil {
		t.Fatalf("HTTP-01: handshake for a published host: %v", err)
	}
	if n := g.pebble.orders(); n != orders+1 {
		t.Fatalf("HTTP-01: %d new orders, want 1", n-orders)
	}

	// HSTS on HTTPS; listen.http redirects to HTTPS with 308.
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, g.public)
			}}}
	resp, err := hc.Get("https://http.gateway.test/x")
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security = %q, want max-age=31536000", got)
	}
	req, _ := http.NewRequest("GET", "http://"+g.http+"/some/path?q=1", nil)
	req.Host = "http.gateway.test"
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: hc.CheckRedirect}
	resp, err = plain.Do(req)
	if err != nil {
		t.Fatalf("HTTP request: %v", err)
	}
	resp.Body.Close()
	if want := "https://http.gateway.test:" + tlsPort + "/some/path?q=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("listen.http answered %d Location %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// 4. An app added by a reload gets a certificate without a restart.
	g.reload(t, g.config("http-01", "alpn.gateway.test", "http.gateway.test", "new.gateway.test"))
	if _, err := g.handshake("new.gateway.test", roots); err != nil {
		t.Fatalf("app added by reload: %v", err)
	}

	// 5. CA unreachable: hosts with certificates keep working; a new host
	// fails, with one clear error in the log however often it is tried.
	g.pebble.proc.kill()
	g.reload(t, g.config("http-01", "alpn.gateway.test", "http.gateway.test", "new.gateway.test", "late.gateway.test"))
	for range 2 { // each attempt fails after the gateway's bounded wait
		if _, err := g.handshake("late.gateway.test", roots); err == nil {
			t.Fatal("handshake for a host without certificate succeeded with the CA down")
		}
	}
	for _, h := range []string{"alpn.gateway.test", "http.gateway.test", "new.gateway.test"} {
		if _, err := g.handshake(h, roots); err != nil {
			t.Errorf("CA down: host %s with a certificate: %v", h, err)
		}
	}
	if n := len(g.proc.log.lines("acme: no certificate for host", "late.gateway.test")); n != 1 {
		t.Errorf("CA down: %d error lines for late.gateway.test, want exactly 1 (rate-limited)", n)
	}
}
