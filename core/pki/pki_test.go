package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func newCA(t *testing.T) (*CA, []byte, []byte) {
	t.Helper()
	ca, certPEM, keyPEM, err := NewCA("Test CA", t0)
	if err != nil {
		t.Fatal(err)
	}
	return ca, certPEM, keyPEM
}

func TestCARoundTrip(t *testing.T) {
	ca, certPEM, keyPEM := newCA(t)
	if !ca.Cert.IsCA || !ca.Cert.MaxPathLenZero || ca.Cert.Subject.CommonName != "Test CA" {
		t.Fatalf("CA certificate %+v", ca.Cert.Subject)
	}
	if ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatal("CA cannot sign certificates")
	}
	if !ca.Cert.NotBefore.Before(t0) || ca.Cert.NotAfter.Before(t0.AddDate(9, 0, 0)) {
		t.Fatalf("CA valid %v to %v", ca.Cert.NotBefore, ca.Cert.NotAfter)
	}
	parsed, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("ParseCA: %v", err)
	}
	if !parsed.Cert.Equal(ca.Cert) {
		t.Fatal("ParseCA returned another certificate")
	}
	if !parsed.Key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(ca.Cert.PublicKey) {
		t.Fatal("parsed key does not match the certificate")
	}
	// The parsed CA signs what verifies against the original.
	leaf, err := parsed.IssueServer([]string{"a.example.com"}, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "a.example.com", CurrentTime: t0}); err != nil {
		t.Fatalf("leaf from the parsed CA: %v", err)
	}
	// Two CAs are different CAs.
	other, _, _ := newCA(t)
	if other.Cert.Equal(ca.Cert) || other.Cert.SerialNumber.Cmp(ca.Cert.SerialNumber) == 0 {
		t.Fatal("two NewCA calls made the same CA")
	}
}

func TestParseCARejects(t *testing.T) {
	_, certPEM, keyPEM := newCA(t)
	leaf, err := func() (tls.Certificate, error) {
		ca, _, _ := newCA(t)
		return ca.IssueServer([]string{"x"}, time.Hour, t0)
	}()
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := CertPEM(leaf.Certificate[0])
	tests := []struct {
		name          string
		cert, key     []byte
		wantSubstring string
	}{
		{"empty certificate", nil, keyPEM, "CA certificate: no PEM certificate"},
		{"key where the certificate goes", keyPEM, keyPEM, "CA certificate: no PEM certificate"},
		{"garbage key", certPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "CA key"},
		{"no key", certPEM, nil, "CA key: no PEM private key"},
		{"not a CA", leafPEM, keyPEM, "not a CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCA(tt.cert, tt.key); err == nil || !strings.Contains(err.Error(), tt.wantSubstring) {
				t.Fatalf("ParseCA = %v, want an error containing %q", err, tt.wantSubstring)
			}
		})
	}
}

func TestIssueServer(t *testing.T) {
	ca, _, _ := newCA(t)
	tests := []struct {
		name     string
		names    []string
		wantDNS  []string
		wantIPs  []string
		verifyAs []string // names the certificate must verify for
		notFor   []string
	}{
		{"one DNS name", []string{"gatehouse-tunnel"}, []string{"gatehouse-tunnel"}, nil, []string{"gatehouse-tunnel"}, []string{"other"}},
		{"DNS and IP", []string{"demo.localhost", "127.0.0.1", "::1"}, []string{"demo.localhost"}, []string{"127.0.0.1", "::1"},
			[]string{"demo.localhost", "127.0.0.1", "::1"}, []string{"127.0.0.2", "localhost"}},
		{"IP only", []string{"10.1.2.3"}, nil, []string{"10.1.2.3"}, []string{"10.1.2.3"}, []string{"10.1.2.4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ca.IssueServer(tt.names, 24*time.Hour, t0)
			if err != nil {
				t.Fatal(err)
			}
			leaf := c.Leaf
			if !slices.Equal(leaf.DNSNames, tt.wantDNS) {
				t.Errorf("DNS SANs %v, want %v", leaf.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IP SANs %v, want %v", ips, tt.wantIPs)
			}
			if len(c.Certificate) != 2 || !slices.Equal(c.Certificate[1], ca.Cert.Raw) {
				t.Errorf("chain has %d certificates, want the leaf and the CA", len(c.Certificate))
			}
			if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || leaf.IsCA {
				t.Errorf("usages %v, want server auth only", leaf.ExtKeyUsage)
			}
			if got := leaf.NotAfter.Sub(t0); got != 24*time.Hour {
				t.Errorf("valid for %v after issue", got)
			}
			opts := x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			for _, n := range tt.verifyAs {
				if err := leaf.VerifyHostname(n); err != nil {
					t.Errorf("VerifyHostname(%s): %v", n, err)
				}
			}
			for _, n := range tt.notFor {
				if leaf.VerifyHostname(n) == nil {
					t.Errorf("certificate also verifies for %s", n)
				}
			}
			if _, err := leaf.Verify(opts); err != nil {
				t.Errorf("does not chain to the CA: %v", err)
			}
			// The key pair is usable as is by crypto/tls.
			if _, err := tls.X509KeyPair(pemChain(c), keyPEMOf(t, c.PrivateKey)); err != nil {
				t.Errorf("not a usable key pair: %v", err)
			}
		})
	}
}

func pemChain(c tls.Certificate) []byte {
	var out []byte
	for _, der := range c.Certificate {
		out = append(out, CertPEM(der)...)
	}
	return out
}

func keyPEMOf(t *testing.T, k crypto.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func makeCSR(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "evil"}, DNSNames: []string{"gatehouse-tunnel"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSignClient(t *testing.T) {
	ca, _, _ := newCA(t)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)

	badSig := makeCSR(t, p256)
	badSig[len(badSig)-3] ^= 0xff // inside the signature

	tests := []struct {
		name    string
		csr     []byte
		wantErr string
	}{
		{"ECDSA P-256", makeCSR(t, p256), ""},
		{"ECDSA P-384", makeCSR(t, p384), ""},
		{"Ed25519", makeCSR(t, edKey), ""},
		{"RSA 2048", makeCSR(t, rsa2048), ""},
		{"RSA 1024", makeCSR(t, rsa1024), "shorter than 2048 bits"},
		{"ECDSA P-224", makeCSR(t, p224), "must be ECDSA P-256/P-384"},
		{"ECDSA P-521", makeCSR(t, p521), "must be ECDSA P-256/P-384"},
		{"bad signature", badSig, "CSR signature"},
		{"not DER", []byte("hello"), "parsing CSR"},
		{"empty", nil, "parsing CSR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := ca.SignClient(tt.csr, "c-0123", time.Hour, t0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SignClient = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SignClient: %v", err)
			}
			if cert.Subject.CommonName != "c-0123" || len(cert.DNSNames) != 0 || len(cert.IPAddresses) != 0 {
				t.Errorf("certificate names %q %v %v: the CSR's names must be ignored", cert.Subject.CommonName, cert.DNSNames, cert.IPAddresses)
			}
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
				t.Errorf("usages %v, want client auth only", cert.ExtKeyUsage)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("client certificate does not verify: %v", err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
				t.Errorf("client certificate verifies for server auth")
			}
		})
	}
}

func TestDevIssuer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev-tls")
	d, err := OpenDevIssuer(dir, time.Now()) // it issues leaves at time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if d.CAFile() != filepath.Join(dir, "dev-ca.pem") {
		t.Fatalf("CAFile = %s", d.CAFile())
	}
	if fi, err := os.Stat(filepath.Join(dir, "dev-ca-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key file: %v, %v; want mode 0600", fi, err)
	}
	caPEM, err := os.ReadFile(d.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}

	for _, tt := range []struct{ sni, verifyAs string }{
		{"demo.localhost", "demo.localhost"},
		{"hr.example.com", "hr.example.com"},
		{"", "localhost"},
	} {
		c, err := d.GetCertificate(&tls.ClientHelloInfo{ServerName: tt.sni})
		if err != nil {
			t.Fatalf("GetCertificate(%q): %v", tt.sni, err)
		}
		if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: tt.verifyAs}); err != nil {
			t.Fatalf("certificate for SNI %q does not verify as %s against the CA file: %v", tt.sni, tt.verifyAs, err)
		}
		again, _ := d.GetCertificate(&tls.ClientHelloInfo{ServerName: tt.sni})
		if again != c {
			t.Errorf("certificate for %q issued again instead of cached", tt.sni)
		}
	}

	// Re-opening keeps the CA a browser was told to trust.
	d2, err := OpenDevIssuer(dir, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	caPEM2, _ := os.ReadFile(d2.CAFile())
	if string(caPEM2) != string(caPEM) {
		t.Fatal("re-opening replaced the development CA")
	}
	c, err := d2.GetCertificate(&tls.ClientHelloInfo{ServerName: "demo.localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "demo.localhost"}); err != nil {
		t.Fatalf("after re-open: %v", err)
	}

	// A real TLS handshake against the issuer, as a browser does.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: d2.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "wiki.example.com"})
	if err != nil {
		t.Fatalf("TLS handshake with the development CA: %v", err)
	}
	conn.Close()
}

func TestOpenDevIssuerBrokenDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenDevIssuer(dir, t0); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "dev-ca-key.pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDevIssuer(dir, t0); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("OpenDevIssuer with the key missing = %v, want an 'incomplete' error", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev-ca-key.pem"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDevIssuer(dir, t0); err == nil || !strings.Contains(err.Error(), "delete both files") {
		t.Fatalf("OpenDevIssuer with a junk key = %v", err)
	}
}

func BenchmarkSignClient(b *testing.B) {
	ca, _, _, _ := NewCA("bench", time.Now())
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	for b.Loop() {
		if _, err := ca.SignClient(csr, "c-1", time.Hour, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
