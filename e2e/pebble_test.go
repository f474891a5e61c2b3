package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/freeport"
)

// pebbleServer is a Pebble ACME server and the pebble-challtestsrv DNS
// server it resolves names with (every A query answers 127.0.0.1), both
// on loopback ports picked at run time.
type pebbleServer struct {
	dir, mgmt string
	certFile  string // PEM of Pebble's own HTTPS certificate (self-signed)
	tlsPool   *x509.CertPool
	proc      *proc
}

// pebbleBins returns the Pebble binaries that "make tools" installs,
// installing them with scripts/install-pebble.sh if needed. It skips the
// test, loudly, if that fails: an ACME test must never pass silently.
func pebbleBins(t *testing.T) (pebble, challtestsrv string) {
	t.Helper()
	bin := filepath.Join(moduleRoot, ".tools", "bin")
	pebble, challtestsrv = filepath.Join(bin, "pebble"), filepath.Join(bin, "pebble-challtestsrv")
	if _, err := os.Stat(pebble); err == nil {
		if _, err := os.Stat(challtestsrv); err == nil {
			return pebble, challtestsrv
		}
	}
	cmd := exec.Command(filepath.Join(moduleRoot, "scripts", "install-pebble.sh"))
	cmd.Env = append(os.Environ(), "GO="+goTool())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIPPING ACME TEST: Pebble could not be installed (run `make tools`): %v\n%s", err, out)
	}
	return pebble, challtestsrv
}

// startPebble starts challtestsrv and Pebble. Pebble's VA validates
// HTTP-01 on httpPort and TLS-ALPN-01 on tlsPort of 127.0.0.1.
func startPebble(t *testing.T, httpPort, tlsPort string) *pebbleServer {
	t.Helper()
	pebbleBin, challBin := pebbleBins(t)
	dir := t.TempDir()
	p := &pebbleServer{certFile: filepath.Join(dir, "pebble-cert.pem")}
	keyFile := filepath.Join(dir, "pebble-key.pem")
	p.tlsPool = writeSelfSigned(t, p.certFile, keyFile)

	dns := freeUDPAddr(t)
	startProc(t, "challtestsrv", challBin, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", dns, "-management", freeAddr(t), "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")

	listen, mgmt := freeAddr(t), freeAddr(t)
	p.dir, p.mgmt = "https://"+listen+"/dir", "https://"+mgmt
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": p.certFile, "privateKey": keyFile,
		"httpPort": atoi(t, httpPort), "tlsPort": atoi(t, tlsPort),
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter":   map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm": "ecdsa",
		"profiles":     map[string]any{"default": map[string]any{"description": "e2e", "validityPeriod": 7776000}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// PEBBLE_VA_NOSLEEP: no random sleep before validations;
	// PEBBLE_WFE_NONCEREJECT=0: no deliberately rejected nonces.
	p.proc = startProc(t, "pebble", "/usr/bin/env", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0",
		pebbleBin, "-config", cfgFile, "-dnsserver", dns)
	eventually(t, "pebble to serve its directory", func() bool {
		p.proc.requireAlive(t)
		_, err := p.get(p.dir)
		return err == nil
	})
	return p
}

// get fetches url over Pebble's HTTPS.
func (p *pebbleServer) get(url string) ([]byte, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.tlsPool}}}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// roots returns the (per-start random) root that signs Pebble's certificates.
func (p *pebbleServer) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	b, err := p.get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble /roots/0: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble /roots/0 holds no certificate: %q", b)
	}
	return pool
}

// orders is how many ACME orders Pebble has accepted so far.
func (p *pebbleServer) orders() int {
	return p.proc.stdout.Count("Added order") + p.proc.log.Count("Added order")
}

// writeSelfSigned writes a self-signed ECDSA certificate for localhost and
// 127.0.0.1 and returns a pool that trusts it.
func writeSelfSigned(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "pebble-loopback"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// freeUDPAddr returns a loopback UDP address that was free a moment ago.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	port, err := freeport.UDP()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

func atoi(t *testing.T, port string) int {
	t.Helper()
	var n int
	for _, r := range port {
		if r < '0' || r > '9' {
			t.Fatalf("port %q is not a number", port)
		}
		n = n*10 + int(r-'0')
	}
	return n
}
