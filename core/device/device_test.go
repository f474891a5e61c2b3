package device

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t testing.TB, name string) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{cert: c, key: key}
}

func (c *ca) issue(t testing.TB, serial int64, cn string, eku x509.ExtKeyUsage, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse("urn:device:" + cn)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"Example"}},
		NotBefore: t0.Add(-time.Hour), NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{eku},
		KeyUsage: x509.KeyUsageDigitalSignature, DNSNames: []string{cn + ".corp.example"}, URIs: []*url.URL{u}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return leaf
}

func (c *ca) crl(t testing.TB, number int64, next time.Time, serials ...int64) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: t0})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(number), ThisUpdate: t0.Add(-time.Minute),
		NextUpdate: next, RevokedCertificateEntries: entries}, c.cert, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// clock is a settable time for the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t testing.TB) (*ca, string, string, *clock) {
	dir := t.TempDir()
	c := newCA(t, "Example Device CA")
	caFile, crlFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "crl.pem")
	write(t, caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}))
	write(t, crlFile, c.crl(t, 1, t0.Add(24*time.Hour), 99))
	return c, caFile, crlFile, &clock{t: t0}
}

func TestVerify(t *testing.T) {
	c, caFile, crlFile, clk := setup(t)
	v, err := New(Options{CAFile: caFile, CRLFile: crlFile, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	good := c.issue(t, 0x1a2b, "laptop-7", x509.ExtKeyUsageClientAuth, t0.Add(time.Hour))
	d, err := v.Verify([]*x509.Certificate{good})
	if err != nil {
		t.Fatal(err)
	}
	if d.Serial != "1a2b" || d.CommonName != "laptop-7" || d.Subject != "CN=laptop-7,O=Example" || d.Issuer != "CN=Example Device CA" ||
		strings.Join(d.SANs, " ") != "laptop-7.corp.example urn:device:laptop-7" || !d.NotAfter.Equal(t0.Add(time.Hour)) {
		t.Fatalf("device = %+v", d)
	}
	if d.Label() != "CN=laptop-7,O=Example (serial 1a2b)" {
		t.Fatalf("label %q", d.Label())
	}
	other := newCA(t, "Other CA")
	for name, tc := range map[string]struct {
		chain []*x509.Certificate
		want  error
	}{
		"none":                          {nil, ErrNoCertificate},
		"other CA":                      {[]*x509.Certificate{other.issue(t, 5, "laptop-8", x509.ExtKeyUsageClientAuth, t0.Add(time.Hour))}, ErrUntrusted},
		"server EKU":                    {[]*x509.Certificate{c.issue(t, 6, "laptop-9", x509.ExtKeyUsageServerAuth, t0.Add(time.Hour))}, ErrUsage},
		"expired":                       {[]*x509.Certificate{c.issue(t, 7, "laptop-10", x509.ExtKeyUsageClientAuth, t0.Add(-time.Minute))}, ErrExpired},
		"revoked":                       {[]*x509.Certificate{c.issue(t, 99, "laptop-11", x509.ExtKeyUsageClientAuth, t0.Add(time.Hour))}, ErrRevoked},
		"other CA's intermediate chain": {[]*x509.Certificate{other.issue(t, 8, "x", x509.ExtKeyUsageClientAuth, t0.Add(time.Hour)), other.cert}, ErrUntrusted},
	} {
		if d, err := v.Verify(tc.chain); !errors.Is(err, tc.want) || d != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", name, d, err, tc.want)
		}
	}
	// A verdict kept for the connection's later requests ends with the
	// certificate's validity.
	if again, err := v.Verify([]*x509.Certificate{good}); err != nil || again != d {
		t.Fatalf("second Verify = %v, %v; want the kept verdict", again, err)
	}
	clk.add(2 * time.Hour)
	if _, err := v.Verify([]*x509.Certificate{good}); !errors.Is(err, ErrExpired) {
		t.Fatalf("after NotAfter: Verify = %v, want ErrExpired", err)
	}
}

// The CRL file is read again when it changes; while it is missing, does
// not verify or is past its next update, every device is refused, and a
// good file brings them back.
func TestCRLReload(t *testing.T) {
	c, caFile, crlFile, clk := setup(t)
	v, err := New(Options{CAFile: caFile, CRLFile: crlFile, Now: clk.now, CheckEvery: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	laptop := []*x509.Certificate{c.issue(t, 42, "laptop-42", x509.ExtKeyUsageClientAuth, t0.Add(48*time.Hour))}
	step := func(data []byte) {
		t.Helper()
		if data == nil {
			if err := os.Remove(crlFile); err != nil {
				t.Fatal(err)
			}
		} else {
			write(t, crlFile, data)
		}
		clk.add(2 * time.Second)
	}
	expect := func(what string, want error) {
		t.Helper()
		_, err := v.Verify(laptop)
		if (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("%s: Verify = %v, want %v", what, err, want)
		}
	}
	expect("first CRL", nil)
	write(t, crlFile, c.crl(t, 2, t0.Add(24*time.Hour), 42))
	expect("changed within CheckEvery: not looked at yet", nil)
	clk.add(2 * time.Second)
	expect("revoked after reload", ErrRevoked)
	step(nil)
	expect("CRL file gone", ErrCRL)
	step([]byte("not a CRL"))
	expect("CRL does not parse", ErrCRL)
	step(newCA(t, "Example Device CA").crl(t, 3, t0.Add(24*time.Hour))) // same name, other key
	expect("CRL signed by another key", ErrCRL)
	step(c.crl(t, 4, t0.Add(24*time.Hour)))
	expect("good CRL again, not revoked", nil)
	clk.add(25 * time.Hour)
	expect("CRL past its next update", ErrCRL)
	if err := v.Check(clk.now()); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Check = %v, want the expiry said", err)
	}
}

func TestNewRefuses(t *testing.T) {
	c, caFile, crlFile, _ := setup(t)
	dir := filepath.Dir(caFile)
	leafFile := filepath.Join(dir, "leaf.pem")
	write(t, leafFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.issue(t, 3, "x", x509.ExtKeyUsageClientAuth, t0).Raw}))
	badCRL := filepath.Join(dir, "bad-crl.pem")
	write(t, badCRL, newCA(t, "Other").crl(t, 1, t0.Add(time.Hour)))
	for name, tc := range map[string]struct {
		o    Options
		want string
	}{
		"missing CA file":     {Options{CAFile: filepath.Join(dir, "nope.pem")}, "no such file"},
		"leaf as CA":          {Options{CAFile: leafFile}, "not a CA certificate"},
		"CRL from another CA": {Options{CAFile: caFile, CRLFile: badCRL}, "not signed by a CA of ca_file"},
		"CA file as CRL":      {Options{CAFile: caFile, CRLFile: caFile}, `"CERTIFICATE" PEM block`},
	} {
		if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want %q", name, err, tc.want)
		}
	}
	if _, err := New(Options{CAFile: caFile, CRLFile: crlFile}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkVerify is the cost per request to a device app: a chain
// check and a CRL lookup (1000 revoked serials).
func BenchmarkVerify(b *testing.B) {
	c, caFile, crlFile, clk := setup(b)
	serials := make([]int64, 1000)
	for i := range serials {
		serials[i] = int64(1000 + i)
	}
	write(b, crlFile, c.crl(b, 2, t0.Add(24*time.Hour), serials...))
	v, err := New(Options{CAFile: caFile, CRLFile: crlFile, Now: clk.now})
	if err != nil {
		b.Fatal(err)
	}
	chain := []*x509.Certificate{c.issue(b, 7, "laptop-7", x509.ExtKeyUsageClientAuth, t0.Add(time.Hour))}
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(chain); err != nil {
			b.Fatal(err)
		}
	}
}
