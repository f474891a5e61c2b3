package connector

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// testCA is a CA made with crypto/x509 alone (the connector must not
// depend on the gateway's pki package, not even in tests).
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key}
}

type leafOpts struct {
	dns      []string
	eku      []x509.ExtKeyUsage
	notAfter time.Time
}

func (ca *testCA) leaf(t *testing.T, o leafOpts) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(time.Hour)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: o.notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: o.eku, DNSNames: o.dns,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func TestVerifyPinned(t *testing.T) {
	gw := newTestCA(t, "gateway CA")
	other := newTestCA(t, "someone else's CA")
	server := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	good := gw.leaf(t, leafOpts{dns: []string{tunnel.ServerName}, eku: server})
	pin := tunnel.Fingerprint(gw.cert)

	tests := []struct {
		name    string
		chain   []*x509.Certificate
		pin     string
		wantErr string
	}{
		{"right CA", []*x509.Certificate{good, gw.cert}, pin, ""},
		{"right CA, extra certificates in the chain", []*x509.Certificate{good, other.cert, gw.cert}, pin, ""},
		{"pin of another CA", []*x509.Certificate{good, gw.cert}, tunnel.Fingerprint(other.cert), "does not match the token's pin"},
		{"another gateway altogether", []*x509.Certificate{other.leaf(t, leafOpts{dns: []string{tunnel.ServerName}, eku: server}), other.cert}, pin,
			"gateway presented " + tunnel.Fingerprint(other.cert)},
		{"CA missing from the chain", []*x509.Certificate{good}, pin, "does not match the token's pin"},
		{"no certificates", nil, pin, "gateway presented none"},
		{"pin names the leaf, not a CA", []*x509.Certificate{good, gw.cert}, tunnel.Fingerprint(good), "does not match the token's pin"},
		{"leaf for client auth only", []*x509.Certificate{gw.leaf(t, leafOpts{dns: []string{tunnel.ServerName}, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}), gw.cert}, pin,
			"does not verify against the pinned CA"},
		{"leaf for another name", []*x509.Certificate{gw.leaf(t, leafOpts{dns: []string{"gateway.example.com"}, eku: server}), gw.cert}, pin,
			"does not verify against the pinned CA"},
		{"leaf signed by another CA next to the pinned one", []*x509.Certificate{other.leaf(t, leafOpts{dns: []string{tunnel.ServerName}, eku: server}), gw.cert}, pin,
			"does not verify against the pinned CA"},
		{"expired leaf", []*x509.Certificate{gw.leaf(t, leafOpts{dns: []string{tunnel.ServerName}, eku: server, notAfter: time.Now().Add(-time.Minute)}), gw.cert}, pin,
			"does not verify against the pinned CA"},
		{"the CA itself as the leaf", []*x509.Certificate{gw.cert}, pin, "does not verify against the pinned CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := verifyPinned(tls.ConnectionState{PeerCertificates: tt.chain}, tt.pin)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("verifyPinned: %v", err)
				}
				if !ca.Equal(gw.cert) {
					t.Fatalf("verifyPinned returned %s, want the pinned CA", ca.Subject.CommonName)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("verifyPinned = %v, want an error containing %q", err, tt.wantErr)
			}
			if ca != nil {
				t.Fatalf("verifyPinned returned a CA with an error")
			}
		})
	}
}
