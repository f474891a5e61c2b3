package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// siteIngress stands for an internal router in front of many similar
// sites: it sends /LABEL/rest to the site named LABEL as /rest, and
// answers 404 for any other label. A wildcard app's backend URL
// http://INGRESS/{label}/ thus reaches a different backend per label.
type siteIngress struct {
	URL   string
	hits  atomic.Int64
	sites map[string]*echoServer
}

func newSiteIngress(t *testing.T, sites map[string]*echoServer) *siteIngress {
	t.Helper()
	in := &siteIngress{sites: sites}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.hits.Add(1)
		label, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		site := in.sites[label]
		if site == nil {
			http.Error(w, "no site "+label, http.StatusNotFound)
			return
		}
		target, _ := url.Parse(site.URL)
		(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path, pr.Out.URL.RawPath = "/"+rest, ""
		}}).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	in.URL = srv.URL
	return in
}

// wildEnv is a gateway with one wildcard app, *.apps.test, whose backend
// URL uses {label}, and an exact app on c.apps.test, behind a real
// connector.
type wildEnv struct {
	g       *gatewayProc
	ingress *siteIngress
	exact   *echoServer
	client  *http.Client
	filesCA *testCA // signs the *.files.test certificate
}

func startWildEnv(t *testing.T) *wildEnv {
	t.Helper()
	e := &wildEnv{exact: newEchoServer(t, "charlie")}
	e.ingress = newSiteIngress(t, map[string]*echoServer{
		"a": newEchoServer(t, "alpha"), "b": newEchoServer(t, "beta"), "c": newEchoServer(t, "wrong-c"),
	})
	// A second wildcard app serves its names with a wildcard certificate
	// from files.
	e.filesCA = newTestCA(t)
	cert := e.filesCA.issue(t, nil, "*.files.test")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "wild.pem"), filepath.Join(dir, "wild-key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEMFile(t, certFile, "CERTIFICATE", cert.Certificate[0])
	writePEMFile(t, keyFile, "PRIVATE KEY", keyDER)
	e.g = startGatewaySpec(t, []string{"default"}, []appSpec{
		{Name: "sites", Host: `"*.apps.test"`, Group: "default", URL: e.ingress.URL + "/{label}/"},
		{Name: "exact", Host: "c.apps.test", Group: "default", URL: e.exact.URL},
		{Name: "filesites", Host: `"*.files.test"`, Group: "default", URL: e.ingress.URL + "/{label}/", CertFile: certFile, KeyFile: keyFile},
	})
	enrollConnector(t, e.g, "connector", "default")
	e.client = newClient(e.g.public, &tls.Config{RootCAs: e.g.caPool()}, false)
	waitServing(t, e.client, "https://a.apps.test/")
	return e
}

// TestWildcardApps: two labels reach two backends through one wildcard
// app, the exact app on c.apps.test wins over the wildcard, and a name
// that does not fill the wildcard with one label reaches nothing.
func TestWildcardApps(t *testing.T) {
	e := startWildEnv(t)
	a := getSeen(t, e.client, "https://a.apps.test/page?q=1", "alpha")
	if a.Path != "/page" || a.RawQuery != "q=1" {
		t.Errorf("a.apps.test/page?q=1 reached alpha as %s?%s, want /page?q=1", a.Path, a.RawQuery)
	}
	getSeen(t, e.client, "https://b.apps.test/other", "beta")
	getSeen(t, e.client, "https://B.Apps.Test/", "beta") // host names have no case
	if s := getSeen(t, e.client, "https://c.apps.test/x", "charlie"); s.Path != "/x" {
		t.Errorf("c.apps.test/x reached the exact app as %s", s.Path)
	}
	before := e.ingress.hits.Load()
	r := get(t, e.client, "https://zz.apps.test/")
	if r.Status != http.StatusNotFound || !strings.Contains(r.Body, "no site zz") {
		t.Errorf("a label the ingress does not know: %d %q, want the ingress's own 404", r.Status, r.Body)
	}
	if e.ingress.hits.Load() != before+1 {
		t.Error("zz.apps.test did not reach the ingress through the wildcard app")
	}

	// *.files.test: its names get the wildcard certificate from files,
	// and reach their sites; other hosts keep the development CA's.
	filesPool := x509.NewCertPool()
	filesPool.AddCert(e.filesCA.cert)
	fc := newClient(e.g.public, &tls.Config{RootCAs: filesPool}, false)
	getSeen(t, fc, "https://a.files.test/", "alpha")
	getSeen(t, fc, "https://b.files.test/", "beta")
	if _, err := fc.Get("https://a.apps.test/"); err == nil {
		t.Error("a.apps.test was served with the *.files.test certificate")
	}

	before = e.ingress.hits.Load()
	for _, host := range []string{"x.y.apps.test", "apps.test"} {
		r := get(t, e.client, "https://"+host+"/")
		requireErrorPage(t, r, http.StatusNotFound, "No such app")
	}
	if n := e.ingress.hits.Load() - before; n != 0 {
		t.Errorf("%d requests for names the wildcard does not cover reached the backend", n)
	}
}

// wildRaw sends a GET with Host header host over TLS with server name
// sni (the certificate is not what is tested here, so it is not
// verified) and returns the status and body.
func wildRaw(g *gatewayProc, sni, host string) (int, string, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", g.public, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	if _, err := fmt.Fprintf(c, "GET /probe HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// TestWildcardACME runs a wildcard app against a real ACME server
// (Pebble): certificates are issued on demand for names the wildcard
// covers, one per name; names it does not cover get no order and a failed
// handshake; the per-wildcard limit of new certificates refuses the name
// past it without an order, while an exact host is not limited.
func TestWildcardACME(t *testing.T) {
	dir := t.TempDir()
	g := &acmeGateway{gatewayProc: &gatewayProc{t: t, dir: dir, configPath: filepath.Join(dir, "gatehouse.yaml"),
		dataDir: filepath.Join(dir, "data"), public: freeAddr(t), tunnel: freeAddr(t)}, http: freeAddr(t)}
	_, httpPort, _ := net.SplitHostPort(g.http)
	_, tlsPort, _ := net.SplitHostPort(g.public)
	g.pebble = startPebble(t, httpPort, tlsPort)
	roots := g.pebble.roots(t)
	text := g.config("tls-alpn-01", "c.apps.test") +
		"  - name: sites\n    host: \"*.apps.test\"\n    group: default\n    auth: passthrough\n" +
		"    wildcard: {new_certificates_per_hour: 2}\n    backend:\n      url: http://127.0.0.1:9/{label}/\n"
	g.run(t, text)

	for i, host := range []string{"a.apps.test", "b.apps.test", "c.apps.test"} {
		cert, err := g.handshake(host, roots)
		if err != nil {
			t.Fatalf("handshake for %s: %v", host, err)
		}
		if len(cert.DNSNames) != 1 || cert.DNSNames[0] != host {
			t.Fatalf("certificate for %s names %q, want exactly %s (one certificate per name)", host, cert.DNSNames, host)
		}
		if n := g.pebble.orders(); n != i+1 {
			t.Fatalf("after %s: %d ACME orders, want %d", host, n, i+1)
		}
	}
	orders := g.pebble.orders()
	for _, host := range []string{"x.y.apps.test", "apps.test", "other.test", "a_b.apps.test", "-a.apps.test"} {
		if _, err := g.handshake(host, roots); err == nil {
			t.Errorf("handshake for %s, which the wildcard does not cover, succeeded", host)
		}
	}
	if n := g.pebble.orders(); n != orders {
		t.Fatalf("names the wildcard does not cover caused %d ACME orders", n-orders)
	}
	// The limit: a and b used the wildcard's 2 new certificates an hour.
	if _, err := g.handshake("d.apps.test", roots); err == nil {
		t.Fatal("handshake for a third new name under the wildcard succeeded past new_certificates_per_hour: 2")
	}
	if n := g.pebble.orders(); n != orders {
		t.Fatalf("the name past the limit caused %d ACME orders", n-orders)
	}
	if len(g.proc.log.lines("limit reached", "d.apps.test")) == 0 {
		t.Error("no log line says d.apps.test was refused for the wildcard's limit")
	}
	if _, err := g.handshake("a.apps.test", roots); err != nil {
		t.Errorf("a name with a certificate after the limit was reached: %v", err)
	}
}
