package enroll

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/pki"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
)

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	st     *sqlite.DB
	ca     *pki.CA
	auth   *Authority
	now    time.Time
	groups map[string]bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := LoadOrCreateCA(t.Context(), st, t0)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, ca: ca, now: t0, groups: map[string]bool{"paris": true}}
	f.auth = &Authority{Store: st, CA: ca, Now: func() time.Time { return f.now },
		GroupExists: func(g string) bool { return f.groups[g] }}
	return f
}

func (f *fixture) token(t *testing.T, group string, ttl time.Duration) tunnel.Token {
	t.Helper()
	s, err := CreateToken(t.Context(), f.st, f.ca, group, ttl, []string{"gw.example.com:8444"}, "", f.now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tunnel.ParseToken(s)
	if err != nil {
		t.Fatalf("CreateToken made a token ParseToken refuses: %v", err)
	}
	return tok
}

func csr(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "i-want-to-be-the-gateway"}, DNSNames: []string{tunnel.ServerName},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func request(tok tunnel.Token, csr []byte) tunnel.EnrollRequest {
	return tunnel.EnrollRequest{TokenID: tok.ID, Secret: tok.Secret, CSR: csr, Hostname: "host-1\x1b[31m", Version: "v1.2.3"}
}

func TestEnrollGoodPath(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, "paris", time.Hour)
	if tok.CAPin != tunnel.Fingerprint(f.ca.Cert) || len(tok.Addrs) != 1 {
		t.Fatalf("token %+v does not pin the CA or lacks the address", tok)
	}
	f.now = t0.Add(59 * time.Minute)
	resp, err := f.auth.Enroll(t.Context(), request(tok, csr(t, nil)), "192.0.2.7:5555")
	if err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if resp.Error != "" || resp.Group != "paris" || !strings.HasPrefix(resp.ConnectorID, "c-") {
		t.Fatalf("response %+v", resp)
	}
	cert, err := pki.ParseCertPEM(resp.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := pki.ParseCertPEM(resp.CAPEM)
	if err != nil || !caCert.Equal(f.ca.Cert) {
		t.Fatalf("response CA is not the gateway CA (%v)", err)
	}
	if cert.Subject.CommonName != resp.ConnectorID {
		t.Errorf("certificate CN %q, want the connector id %q", cert.Subject.CommonName, resp.ConnectorID)
	}
	if len(cert.DNSNames)+len(cert.IPAddresses)+len(cert.URIs)+len(cert.EmailAddresses) != 0 {
		t.Errorf("certificate copied names from the CSR: %v %v", cert.DNSNames, cert.IPAddresses)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || cert.IsCA {
		t.Errorf("certificate usages %v (CA %v), want client auth only", cert.ExtKeyUsage, cert.IsCA)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: f.ca.Pool(), CurrentTime: f.now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("certificate does not verify against the CA for client auth: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: f.ca.Pool(), CurrentTime: f.now, DNSName: tunnel.ServerName}); err == nil {
		t.Errorf("a connector certificate verifies as the tunnel server")
	}
	if got := cert.NotAfter.Sub(f.now); got != CertValidity {
		t.Errorf("validity %v, want %v", got, CertValidity)
	}
	c, err := f.st.GetConnector(t.Context(), resp.ConnectorID)
	if err != nil {
		t.Fatalf("connector not registered: %v", err)
	}
	if c.Group != "paris" || c.Addr != "192.0.2.7:5555" || c.Version != "v1.2.3" || c.Hostname != "host-1[31m" ||
		c.CertSerial != cert.SerialNumber.Text(16) || !c.CreatedAt.Equal(f.now) {
		t.Errorf("registered connector %+v", c)
	}
	used, err := f.st.GetToken(t.Context(), tok.ID)
	if err != nil || !used.UsedAt.Equal(f.now) {
		t.Errorf("token not burned: %+v, %v", used, err)
	}
}

func TestEnrollRefusals(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest
		wantSub string
	}{
		{"reused token", func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest {
			if _, err := f.auth.Enroll(t.Context(), request(tok, csr(t, nil)), "a"); err != nil {
				t.Fatal(err)
			}
			return request(tok, csr(t, nil))
		}, "already used"},
		{"expired token", func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest {
			f.now = t0.Add(time.Hour)
			return request(tok, csr(t, nil))
		}, "expired at 2030-06-01T13:00:00Z"},
		{"wrong secret", func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest {
			tok.Secret = strings.Repeat("0", len(tok.Secret))
			return request(tok, csr(t, nil))
		}, "not recognised"},
		{"empty secret", func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest {
			tok.Secret = ""
			return request(tok, csr(t, nil))
		}, "not recognised"},
		{"unknown id", func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest {
			tok.ID = "ffffffffffffffff"
			return request(tok, csr(t, nil))
		}, "not recognised"},
		{"group removed from the config", func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest {
			delete(f.groups, "paris")
			return request(tok, csr(t, nil))
		}, `group "paris" is no longer`},
		{"CSR is garbage", func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest {
			return request(tok, []byte("not a CSR"))
		}, "certificate request refused"},
		{"CSR with a weak key", func(t *testing.T, f *fixture, tok tunnel.Token) tunnel.EnrollRequest {
			return request(tok, csr(t, rsa1024))
		}, "certificate request refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok := f.token(t, "paris", time.Hour)
			req := tt.prepare(t, f, tok)
			before, _ := f.st.ListConnectors(t.Context())
			resp, err := f.auth.Enroll(t.Context(), req, "192.0.2.7:5555")
			var refusal *Refusal
			if !errors.As(err, &refusal) {
				t.Fatalf("Enroll = %+v, %v; want a *Refusal", resp, err)
			}
			if !strings.Contains(refusal.Msg, tt.wantSub) {
				t.Fatalf("refusal %q, want it to contain %q", refusal.Msg, tt.wantSub)
			}
			if strings.Contains(refusal.Msg, tok.Secret) {
				t.Fatalf("refusal repeats the secret")
			}
			if resp.CertPEM != nil || resp.ConnectorID != "" {
				t.Fatalf("refused enrollment returned %+v", resp)
			}
			after, _ := f.st.ListConnectors(t.Context())
			if len(after) != len(before) {
				t.Fatalf("a refused enrollment registered a connector: %d → %d", len(before), len(after))
			}
		})
	}
}

// A refusal for a bad CSR must not burn the token: the request proved it
// holds the secret, nothing was issued, and the operator's fix is to retry
// with a good key, not to create a new token.
func TestEnrollBadCSRKeepsToken(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, "paris", time.Hour)
	if _, err := f.auth.Enroll(t.Context(), request(tok, []byte("not a CSR")), "a"); err == nil {
		t.Fatal("bad CSR accepted")
	}
	if _, err := f.auth.Enroll(t.Context(), request(tok, csr(t, nil)), "a"); err != nil {
		t.Fatalf("retry with a good CSR after a refused one: %v", err)
	}
}

// Many connectors racing with one token: exactly one gets a certificate.
func TestEnrollConcurrentSameToken(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, "paris", time.Hour)
	const n = 12
	csrs := make([][]byte, n)
	for i := range csrs {
		csrs[i] = csr(t, nil)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, refused int
	var others []error
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := f.auth.Enroll(context.Background(), request(tok, csrs[i]), "a")
			var refusal *Refusal
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &refusal) && strings.Contains(refusal.Msg, "already used"):
				refused++
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok != 1 || refused != n-1 || len(others) != 0 {
		t.Fatalf("%d enrolled, %d refused as used, other errors %v; want 1 and %d", ok, refused, others, n-1)
	}
	list, err := f.st.ListConnectors(t.Context())
	if err != nil || len(list) != 1 {
		t.Fatalf("%d connectors registered (%v), want 1", len(list), err)
	}
}

func TestCreateToken(t *testing.T) {
	f := newFixture(t)
	if _, err := CreateToken(t.Context(), f.st, f.ca, "paris", 0, nil, "", t0); err == nil {
		t.Fatal("CreateToken with a zero lifetime succeeded")
	}
	if _, err := CreateToken(t.Context(), f.st, f.ca, "paris", -time.Hour, nil, "", t0); err == nil {
		t.Fatal("CreateToken with a negative lifetime succeeded")
	}
	a, b := f.token(t, "paris", time.Hour), f.token(t, "paris", time.Hour)
	if a.ID == b.ID || a.Secret == b.Secret || len(a.Secret) < 32 {
		t.Fatalf("tokens are not unique or too short: %+v %+v", a, b)
	}
	st, err := f.st.GetToken(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(st.SecretHash), a.Secret) || len(st.SecretHash) != 32 {
		t.Fatalf("store holds %q, want a SHA-256 of the secret", st.SecretHash)
	}
	if !st.ExpiresAt.Equal(t0.Add(time.Hour)) || st.Group != "paris" {
		t.Fatalf("stored token %+v", st)
	}
	if a.ReleaseKey != "" {
		t.Fatalf("token without a configured release key carries %q", a.ReleaseKey)
	}
	// The release key the connector will trust for updates rides in the token.
	rk := release.FormatPublicKey(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))
	s, err := CreateToken(t.Context(), f.st, f.ca, "paris", time.Hour, nil, rk, t0)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tunnel.ParseToken(s)
	if err != nil || tok.ReleaseKey != rk {
		t.Fatalf("token release key = %q, %v; want %q", tok.ReleaseKey, err, rk)
	}
}

// Two gateway nodes starting together agree on one CA.
func TestLoadOrCreateCA(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	var cas [4]*pki.CA
	var wg sync.WaitGroup
	for i := range cas {
		st, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ca, err := LoadOrCreateCA(context.Background(), st, t0)
			if err != nil {
				t.Error(err)
				return
			}
			cas[i] = ca
		}()
	}
	wg.Wait()
	for _, ca := range cas[1:] {
		if ca == nil || cas[0] == nil || !ca.Cert.Equal(cas[0].Cert) {
			t.Fatal("nodes disagree on the connector CA")
		}
	}
}
