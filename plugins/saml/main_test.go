package saml_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/freeport"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/pluginhost/pluginhosttest"
	"github.com/gatehouse/gatehouse/plugins/saml"
	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
	"github.com/gatehouse/gatehouse/sdk"
)

var (
	// plugin is the plug-in binary, built once for the package's tests,
	// and bin its path.
	plugin pluginhost.Entry
	bin    string
	// spKey and spCert are the SP's key pair; strangerKey and strangerCert
	// another, which the IdP does not know.
	spKey, spCert, strangerKey, strangerCert string
	// idpMetadataFile is a copy of the IdP's metadata.
	idpMetadataFile string
	// idp is the SAML IdP the tests sign in at, nil when there is none;
	// idpSkip says why.
	idp     *idplab.IdP
	idpSkip string
)

// The app the tests sign in to, and its callback URL as the gateway
// builds it. The browser never goes there: the tests take the form the
// IdP would have it post and hand it to the plug-in as the gateway would.
// Besides the app itself (entity id: its URL), the IdP trusts "other",
// another SP with the same callback URL, for the wrong-audience test.
const (
	app      = "hr"
	appURL   = "https://hr.example.test"
	callback = appURL + "/.gatehouse/auth/hr/callback"
	// signedOut is the gateway's "Signed out" page, the SP's
	// SingleLogoutService.
	signedOut = appURL + "/.gatehouse/auth/hr/signedout"
	otherSP   = "https://other.example.test"
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	flag.Parse()
	if fz, w := flag.Lookup("test.fuzz"), flag.Lookup("test.fuzzworker"); fz != nil && fz.Value.String() != "" || w != nil && w.Value.String() == "true" {
		// Fuzzing (and every fuzz worker process) needs neither the
		// plug-in binary nor the IdP: FuzzCallback runs in process.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "saml-plugin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	var remove func()
	if plugin, remove, err = pluginhosttest.Build("saml", "", "./cmd/gatehouse-plugin-saml"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	bin = plugin.Path
	if spKey, spCert, err = writeKeyPair(dir, "sp"); err == nil {
		strangerKey, strangerCert, err = writeKeyPair(dir, "stranger")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	t0 := time.Now()
	idp, err = idplab.Start(ctx, idplab.Options{})
	switch {
	case errors.Is(err, idplab.ErrSkip):
		idpSkip = err.Error()
		fmt.Println("saml: SKIPPING the tests against a real SAML IdP:", idpSkip)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	default:
		defer func() {
			if err := idp.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}()
		if err := trustTestSPs(ctx, dir); err != nil {
			fmt.Fprintf(os.Stderr, "%v\nIdP log:\n%s", err, idp.Log())
			return 1
		}
		fmt.Printf("saml: SimpleSAMLphp IdP at %s ready in %v\n", idp.URL, time.Since(t0).Round(time.Millisecond))
	}
	return m.Run()
}

// trustTestSPs has the IdP trust the app and "other", with the metadata
// the plug-in serves for them at ?metadata, and keeps a copy of the IdP's
// metadata in a file.
func trustTestSPs(ctx context.Context, dir string) error {
	md, err := idp.Metadata(ctx)
	if err != nil {
		return err
	}
	idpMetadataFile = filepath.Join(dir, "idp-metadata.xml")
	if err := os.WriteFile(idpMetadataFile, md, 0o644); err != nil {
		return err
	}
	var sps [][]byte
	for _, entityID := range []string{"", otherSP} {
		cfg := with(baseConfig(), "idp_metadata_url", idp.MetadataURL, "sp_entity_id", entityID)
		if entityID == "" {
			delete(cfg, "sp_entity_id")
		}
		raw, _ := json.Marshal(cfg)
		a, err := saml.New(ctx, sdk.ConfigureRequest{App: app, Plugin: "saml", Config: raw}, time.Now)
		if err != nil {
			return fmt.Errorf("configuring the SP %q: %w", entityID, err)
		}
		res, err := a.Authenticate(ctx, metadataRequest())
		if err != nil || res.Status != http.StatusOK {
			return fmt.Errorf("SP metadata: %+v %v", res, err)
		}
		sps = append(sps, res.Body)
	}
	return idp.Trust(sps...)
}

// needIdP skips t unless the IdP runs.
func needIdP(t testing.TB) *idplab.IdP {
	t.Helper()
	if idp == nil {
		t.Skip(idpSkip)
	}
	return idp
}

// baseConfig is the SP's config without the IdP.
func baseConfig() map[string]any {
	return map[string]any{"sp_key_file": spKey, "sp_cert_file": spCert}
}

// idpConfig is a config for the lab's IdP, changed by the key/value pairs
// in kv (a nil value deletes the key).
func idpConfig(t testing.TB, kv ...any) map[string]any {
	needIdP(t)
	return with(with(baseConfig(), "idp_metadata_url", idp.MetadataURL), kv...)
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

// authenticator is what the tests drive: the plug-in over the wire, or
// an instance in process (for a clock of the test's own).
type authenticator interface {
	Authenticate(ctx context.Context, req sdk.AuthRequest) (sdk.AuthResult, error)
}

// inProcess builds an instance in process with cfg and the clock now.
func inProcess(t testing.TB, cfg map[string]any, now func() time.Time) sdk.Authenticator {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := saml.New(context.Background(), sdk.ConfigureRequest{App: app, Plugin: "saml", Config: raw}, now)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// browserRequest is a browser's GET of path on the app, without a session.
func browserRequest(path string) sdk.AuthRequest {
	return sdk.AuthRequest{Method: "GET", URL: appURL + path, RemoteAddr: "192.0.2.7",
		Header:      http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}, "User-Agent": {"Mozilla/5.0 (test)"}},
		CallbackURL: callback, SignedOutURL: signedOut}
}

// metadataRequest asks for the SP metadata.
func metadataRequest() sdk.AuthRequest {
	req := browserRequest("")
	req.URL = callback + "?metadata"
	req.Header = http.Header{"Accept": {"*/*"}, "User-Agent": {"curl/8"}}
	return req
}

// postRequest is the browser's POST of the IdP's form to the callback
// URL, with the state the gateway kept.
func postRequest(post *idplab.Post, state []byte) sdk.AuthRequest {
	req := browserRequest("")
	req.Method, req.URL, req.State, req.Body = "POST", callback, state, post.Body()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "null")
	return req
}

func authenticate(t testing.TB, a authenticator, req sdk.AuthRequest) sdk.AuthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.Authenticate(ctx, req)
	if err != nil {
		t.Fatalf("Authenticate(%s %s): %v", req.Method, req.URL, err)
	}
	if err := res.Validate(); err != nil {
		t.Fatalf("Authenticate(%s %s) = %+v: %v", req.Method, req.URL, res, err)
	}
	return res
}

// startSignIn asks a for a browser's sign-in and checks it is a redirect.
func startSignIn(t testing.TB, a authenticator) sdk.AuthResult {
	t.Helper()
	res := authenticate(t, a, browserRequest("/reports?q=1"))
	if res.Outcome != sdk.OutcomeRedirect {
		t.Fatalf("a browser without a session got %+v, want a redirect", res)
	}
	return res
}

// atIdP signs in as user with password at the IdP, with the AuthnRequest
// start points to, in a fresh browser. It returns the IdP's form for the
// callback, or the error.
func atIdP(t testing.TB, start sdk.AuthResult, user, password string) (*idplab.Post, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return needIdP(t).Browser().SignIn(ctx, start.Location, user, password)
}

// idpPost runs the IdP part of a sign-in as user and returns the form the
// IdP has the browser post to the callback URL, with the state of start.
func idpPost(t testing.TB, a authenticator, user string) (*idplab.Post, []byte) {
	t.Helper()
	start := startSignIn(t, a)
	post, err := atIdP(t, start, user, idplab.Password)
	if err != nil {
		t.Fatalf("signing in as %s at the IdP: %v\nIdP log:\n%s", user, err, idp.Log())
	}
	if post.Action != callback {
		t.Fatalf("the IdP posts to %s, want the callback URL %s", post.Action, callback)
	}
	return post, start.State
}

// signIn runs a whole sign-in as user and returns the callback's result.
func signIn(t testing.TB, a authenticator, user string) sdk.AuthResult {
	t.Helper()
	post, state := idpPost(t, a, user)
	return authenticate(t, a, postRequest(post, state))
}

// writeKeyPair writes an RSA key and a self-signed certificate for it into
// dir as NAME.key and NAME.crt.
func writeKeyPair(dir, name string) (keyFile, certFile string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyFile, certFile = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return "", "", err
	}
	return keyFile, certFile, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
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

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
