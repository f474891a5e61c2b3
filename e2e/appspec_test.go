package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// appSpec is an app with the backend options appConf leaves out. Empty
// fields are left out of the file, except Timeout: "" renders the 30s
// appConf uses, so that "0" can be written explicitly.
type appSpec struct {
	Name, Host, Group, URL string
	PathPrefix             string
	Timeout                string // "" = 30s; "0" = no limit
	CAFile                 string
	PinSHA256              string
	ServerName             string
	PreserveHost           bool
	CertFile, KeyFile      string // the app's own public certificate
	Auth                   string // YAML value of auth: ("" = passthrough)
	SignOn                 string // YAML value of sign_on: ("" = none)
	Filters                string // YAML value of filters: ("" = none)
	Access                 string // YAML value of access: ("" = none)
	KeepEscapedSlashes     bool   // keep_escaped_slashes: true
	TCP                    string // YAML value of tcp: (a TCP app: no backend)
	Portal                 string // YAML value of portal: ("" = none)
	SAMLIdP                string // YAML value of saml_idp: ("" = none)
	Cookie                 string // YAML value of cookie: ("" = none)
}

// specYAML renders a gateway config: the listeners, groups and log level
// of base (whose Apps must be empty) followed by apps.
func specYAML(base gwConfig, apps []appSpec, public, tunnel, dataDir string) string {
	var b strings.Builder
	b.WriteString(base.yaml(public, tunnel, dataDir)) // ends with "apps:\n"
	for _, a := range apps {
		fmt.Fprintf(&b, "  - name: %s\n    host: %s\n    group: %s\n", a.Name, a.Host, a.Group)
		if a.PathPrefix != "" {
			fmt.Fprintf(&b, "    path_prefix: %q\n", a.PathPrefix)
		}
		if a.KeepEscapedSlashes {
			b.WriteString("    keep_escaped_slashes: true\n")
		}
		if a.CertFile != "" {
			fmt.Fprintf(&b, "    cert_file: %q\n    key_file: %q\n", a.CertFile, a.KeyFile)
		}
		timeout := a.Timeout
		if timeout == "" {
			timeout = "30s"
		}
		auth := a.Auth
		if auth == "" {
			auth = "passthrough"
		}
		fmt.Fprintf(&b, "    auth: %s\n", auth)
		if a.SignOn != "" {
			fmt.Fprintf(&b, "    sign_on: %s\n", a.SignOn)
		}
		if a.Access != "" {
			fmt.Fprintf(&b, "    access: %s\n", a.Access)
		}
		if a.Filters != "" {
			fmt.Fprintf(&b, "    filters: %s\n", a.Filters)
		}
		if a.SAMLIdP != "" {
			fmt.Fprintf(&b, "    saml_idp: %s\n", a.SAMLIdP)
		}
		if a.Cookie != "" {
			fmt.Fprintf(&b, "    cookie: %s\n", a.Cookie)
		}
		if a.Portal != "" {
			fmt.Fprintf(&b, "    portal: %s\n", a.Portal)
		}
		if a.TCP != "" {
			fmt.Fprintf(&b, "    tcp: %s\n", a.TCP)
			continue
		}
		fmt.Fprintf(&b, "    backend:\n      url: %q\n      timeout: %s\n", a.URL, timeout)
		for _, kv := range [][2]string{{"ca_file", a.CAFile}, {"pin_sha256", a.PinSHA256}, {"server_name", a.ServerName}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "      %s: %q\n", kv[0], kv[1])
			}
		}
		if a.PreserveHost {
			b.WriteString("      preserve_host: true\n")
		}
	}
	return b.String()
}

// startGatewaySpec is startGateway for apps with backend options: groups
// as given, every app rendered by specYAML.
func startGatewaySpec(t testing.TB, groups []string, apps []appSpec) *gatewayProc {
	t.Helper()
	return startGatewayWith(t, gwConfig{Groups: groups}, apps)
}

// startGatewayWith is startGatewaySpec with the rest of base (its Apps
// must be empty): plug-ins, heartbeats, log level.
func startGatewayWith(t testing.TB, base gwConfig, apps []appSpec) *gatewayProc {
	t.Helper()
	g := newGateway(t, base)
	for attempt := 1; ; attempt++ {
		g.writeConfigText(specYAML(base, apps, g.public, g.tunnel, g.dataDir))
		g.proc = startProc(g.t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
		if g.waitStarted() || attempt == 3 {
			break
		}
		t.Logf("gateway ports taken (%s, %s); trying others", g.public, g.tunnel)
		g.public, g.tunnel = freeAddr(t), freeAddr(t)
	}
	g.proc.requireAlive(t)
	return g
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "gatehouse e2e backend CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, der: der}
}

// writePEM writes the CA certificate to a PEM file in a temp dir.
func (ca *testCA) writePEM(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "backend-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// issue returns a server certificate for ips and dnsNames signed by ca,
// or self-signed when ca is nil.
func (ca *testCA) issue(t testing.TB, ips []net.IP, dnsNames ...string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: "gatehouse e2e backend"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  ips,
		DNSNames:     dnsNames,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// pinOf is the pin_sha256 of a certificate: hex SHA-256 of the leaf's DER.
func pinOf(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(sum[:])
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// seenRequest is what an echo backend records of a request and answers
// as JSON.
type seenRequest struct {
	Server     string `json:"server"`
	Method     string `json:"method"`
	Host       string `json:"host"`
	RequestURI string `json:"request_uri"`
	Path       string `json:"path"`
	RawPath    string `json:"raw_path"`
	RawQuery   string `json:"raw_query"`
	TLSServer  string `json:"tls_server_name"` // SNI, for TLS backends
}

// echoServer answers every request with the seenRequest JSON and counts
// the requests its handler saw.
type echoServer struct {
	name string
	srv  *httptest.Server
	URL  string
	hits atomic.Int64

	mu   sync.Mutex
	last seenRequest
}

func (e *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.hits.Add(1)
	s := seenRequest{Server: e.name, Method: r.Method, Host: r.Host, RequestURI: r.RequestURI,
		Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if r.TLS != nil {
		s.TLSServer = r.TLS.ServerName
	}
	e.mu.Lock()
	e.last = s
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}

// newEchoServer starts a plain HTTP echo backend.
func newEchoServer(t testing.TB, name string) *echoServer {
	t.Helper()
	e := &echoServer{name: name}
	e.srv = httptest.NewUnstartedServer(e)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.URL = e.srv.URL
	return e
}

// newTLSEchoServer starts an HTTPS echo backend serving cert. Handshake
// failures (the point of some tests) are not logged.
func newTLSEchoServer(t testing.TB, name string, cert tls.Certificate) *echoServer {
	t.Helper()
	e := &echoServer{name: name}
	e.srv = httptest.NewUnstartedServer(e)
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	e.URL = e.srv.URL
	return e
}

// getSeen GETs url through c and decodes the echo backend's answer,
// failing the test unless it is a 200 from the backend named server.
func getSeen(t testing.TB, c *http.Client, url, server string) seenRequest {
	t.Helper()
	r := get(t, c, url)
	var s seenRequest
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &s) != nil {
		t.Fatalf("GET %s: %d %q; want 200 from backend %s", url, r.Status, r.Body, server)
	}
	if s.Server != server {
		t.Fatalf("GET %s reached backend %s (as %s), want backend %s", url, s.Server, s.RequestURI, server)
	}
	return s
}
