package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/freeport"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/pluginhost/pluginhosttest"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
	"github.com/gatehouse/gatehouse/sdk"
)

var (
	// plugin is the plug-in binary, built once for the package's tests,
	// and bin its path.
	plugin pluginhost.Entry
	bin    string
	// op is the OpenID provider the tests sign in at, nil when there is
	// none; opSkip says why.
	op     *oplab.OP
	opSkip string
)

// The app the tests sign in to, and its callback URL as the gateway
// builds it. The browser never goes there: the tests read the code out of
// the provider's redirect and hand it to the plug-in as the gateway would.
const (
	app      = "hr"
	callback = "https://hr.example.test/.gatehouse/auth/hr/callback"
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var remove func()
	var err error
	if plugin, remove, err = pluginhosttest.Build("oidc", "", "./cmd/gatehouse-plugin-oidc"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	bin = plugin.Path
	op, err = oplab.Start(context.Background(), oplab.Options{RedirectURIs: []string{callback}})
	switch {
	case errors.Is(err, oplab.ErrSkip):
		opSkip = err.Error()
		fmt.Println("oidc: SKIPPING the tests against a real OpenID provider:", opSkip)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := op.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

// needOP skips t unless the provider runs.
func needOP(t testing.TB) *oplab.OP {
	t.Helper()
	if op == nil {
		t.Skip(opSkip)
	}
	return op
}

// opConfig is a config for the provider's confidential client, changed
// by the key/value pairs in kv (a nil value deletes the key).
func opConfig(t testing.TB, kv ...any) map[string]any {
	op := needOP(t)
	return with(map[string]any{
		"issuer": op.Issuer, "client_id": oplab.ClientID, "client_secret": oplab.ClientSecret,
		"scopes": []any{"openid", "profile", "email", "groups"},
	}, kv...)
}

func with(cfg map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(cfg, kv[i].(string))
		} else {
			cfg[kv[i].(string)] = kv[i+1]
		}
	}
	return cfg
}

// open starts the plug-in binary for the app with cfg, over the real
// protocol, as the gateway does.
func open(t testing.TB, cfg map[string]any) (*pluginhost.Authenticator, error) {
	t.Helper()
	return pluginhosttest.Authenticator(t, pluginhost.Host{}, plugin, pluginhost.Use{App: app, Config: cfg})
}

func mustOpen(t testing.TB, cfg map[string]any) *pluginhost.Authenticator {
	t.Helper()
	a, err := open(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// browserRequest is a browser's GET of path on the app, without a session.
func browserRequest(path string) sdk.AuthRequest {
	return sdk.AuthRequest{Method: "GET", URL: "https://hr.example.test" + path, RemoteAddr: "192.0.2.7",
		Header:      http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}, "User-Agent": {"Mozilla/5.0 (test)"}},
		CallbackURL: callback}
}

// callbackRequest is the browser's return to the callback URL at, with
// the state the gateway kept.
func callbackRequest(at *url.URL, state []byte) sdk.AuthRequest {
	req := browserRequest("")
	req.URL, req.State = at.String(), state
	return req
}

func authenticate(t testing.TB, a *pluginhost.Authenticator, req sdk.AuthRequest) sdk.AuthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.Authenticate(ctx, req)
	if err != nil {
		t.Fatalf("Authenticate(%s): %v", req.URL, err)
	}
	return res
}

// startSignIn asks a for a browser's sign-in and checks it is a redirect.
func startSignIn(t testing.TB, a *pluginhost.Authenticator) sdk.AuthResult {
	t.Helper()
	res := authenticate(t, a, browserRequest("/reports?q=1"))
	if res.Outcome != sdk.OutcomeRedirect {
		t.Fatalf("a browser without a session got %+v, want a redirect", res)
	}
	return res
}

// signInAt runs a whole sign-in as user: redirect, the provider's login
// form, and the callback. It returns the callback's result.
func signInAt(t testing.TB, a *pluginhost.Authenticator, o *oplab.OP, transport http.RoundTripper, user string) sdk.AuthResult {
	t.Helper()
	start := startSignIn(t, a)
	back, err := o.Browser(transport).SignIn(context.Background(), start.Location, user, oplab.Password)
	if err != nil {
		t.Fatalf("signing in as %s at the provider: %v\nprovider log:\n%s", user, err, o.Log())
	}
	return authenticate(t, a, callbackRequest(back, start.State))
}

// freePort is a loopback port nothing listens on, for now.
func freePort(t testing.TB) int {
	t.Helper()
	port, err := freeport.TCP()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their files and a transport that trusts the certificate.
func selfSigned(t testing.TB) (certFile, keyFile string, transport *http.Transport) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "oidc test provider"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
