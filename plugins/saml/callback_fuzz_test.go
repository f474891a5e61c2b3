package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// Fixed values of the SAML fuzz target: the sign-in in progress it
// answers, and the clock. The seeds use them.
const (
	fuzzRequestID = "id-fuzz-0123456789"
	fuzzCallback  = "https://hr.example.test/.gatehouse/auth/hr/callback"
)

var fuzzNow = time.Date(2026, 11, 27, 12, 0, 30, 0, time.UTC)

// FuzzCallback posts arbitrary SAML responses to the callback URL, as a
// browser (or an attacker) would, for a sign-in in progress. The IdP is
// the one in testdata/idp-metadata.xml, whose key the fuzzer does not
// have: no input may authenticate, Authenticate must never panic nor
// fail (a bad answer is a challenge page, not an error), and its result
// must be valid. xml is base64-encoded into SAMLResponse after the form
// fields in form (which may hold a SAMLResponse of their own).
func FuzzCallback(f *testing.F) {
	a := fuzzAuthenticator(f)
	state, _ := json.Marshal(flowState{RequestID: fuzzRequestID, Issued: fuzzNow.Add(-30 * time.Second).Unix()})
	f.Fuzz(func(t *testing.T, form string, xml []byte) {
		body := form
		if len(xml) > 0 {
			body += "&SAMLResponse=" + url.QueryEscape(base64.StdEncoding.EncodeToString(xml))
		}
		req := sdk.AuthRequest{Method: http.MethodPost, URL: fuzzCallback, CallbackURL: fuzzCallback,
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, RemoteAddr: "192.0.2.7",
			State: state, Body: []byte(body)}
		res, err := a.Authenticate(context.Background(), req)
		if err != nil {
			t.Fatalf("Authenticate failed instead of answering with a page: %v", err)
		}
		if res.Outcome == sdk.OutcomeAuthenticated {
			t.Fatalf("a SAML response the IdP did not sign authenticated %+v", res.Identity)
		}
		if err := res.Validate(); err != nil {
			t.Fatalf("invalid result %+v: %v", res, err)
		}
	})
}

// fuzzAuthenticator is the plug-in for the app at fuzzCallback, with the
// IdP of testdata/idp-metadata.xml, a fresh SP key pair and the clock
// stopped at fuzzNow.
func fuzzAuthenticator(tb testing.TB) sdk.Authenticator {
	tb.Helper()
	dir := tb.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse fuzz SP"},
		NotBefore: fuzzNow.Add(-time.Hour), NotAfter: fuzzNow.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyFile, certFile := filepath.Join(dir, "sp.key"), filepath.Join(dir, "sp.crt")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		tb.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"idp_metadata_file": "testdata/idp-metadata.xml", "sp_key_file": keyFile, "sp_cert_file": certFile})
	a, err := New(context.Background(), sdk.ConfigureRequest{App: "hr", Plugin: "saml", Config: cfg}, func() time.Time { return fuzzNow })
	if err != nil {
		tb.Fatal(err)
	}
	return a
}
