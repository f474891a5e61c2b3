package saml_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/saml"
	"github.com/gatehouse/gatehouse/sdk"
)

// staticMetadata is an IdP's metadata that needs no IdP running.
const staticMetadata = "testdata/idp-metadata.xml"

// configure builds an instance in process with cfg.
func configure(t *testing.T, cfg map[string]any) error {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = saml.New(ctx, sdk.ConfigureRequest{App: app, Plugin: "saml", Config: raw}, time.Now)
	return err
}

// Every config mistake is refused when the config is loaded, with the key
// and what to do; so is an IdP metadata URL that cannot be fetched.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	notPEM := file("not.pem", "hello")
	encrypted := file("encrypted.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
	weakKey, weakCert := keyPair(t, dir, "weak", 1024)
	ecKey, ecCert := keyPair(t, dir, "ec", 0)
	spMetadata := file("sp.xml", `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example.test"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></EntityDescriptor>`)
	md, err := os.ReadFile(staticMetadata)
	if err != nil {
		t.Fatal(err)
	}
	entity := strings.TrimPrefix(string(md), `<?xml version="1.0"?>`)
	twoIdPs := file("two.xml", `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">`+entity+
		strings.ReplaceAll(entity, "idp.example.test", "idp2.example.test")+`</EntitiesDescriptor>`)
	noRedirect := file("no-redirect.xml", strings.ReplaceAll(string(md), "bindings:HTTP-Redirect", "bindings:HTTP-POST"))
	noCert := file("no-cert.xml", strings.ReplaceAll(string(md), `use="signing"`, `use="encryption"`))

	down := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/metadata"
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()

	ok := func(kv ...any) map[string]any {
		return with(with(baseConfig(), "idp_metadata_file", staticMetadata), kv...)
	}
	for _, tc := range []struct {
		cfg  map[string]any
		want string // "" means accepted
	}{
		{ok(), ""},
		{ok("sp_key_file", ecKey, "sp_cert_file", ecCert), ""},
		{ok("idp_metadata_file", twoIdPs, "idp_entity_id", "https://idp2.example.test/saml2/idp/metadata.php"), ""},
		{ok("sp_entity_id", "urn:example:hr", "name_id_format", "persistent", "clock_skew", "0s", "identity_lifetime", "12h",
			"force_authn", true, "allow_sha1", true, "groups_attribute", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"), ""},
		{baseConfig(), "idp_metadata_file: is required (or idp_metadata_url)"},
		{ok("idp_metadata_url", "https://idp.example.test/md"), "idp_metadata_url: set idp_metadata_file or idp_metadata_url, not both"},
		{ok("idp_metadata_file", filepath.Join(dir, "missing.xml")), "idp_metadata_file: cannot read it"},
		{ok("idp_metadata_file", notPEM), "idp_metadata_file: " + notPEM + ": not SAML metadata"},
		{ok("idp_metadata_file", spMetadata), "https://sp.example.test is not an identity provider"},
		{ok("idp_metadata_file", twoIdPs), "holds several IdPs: set idp_entity_id"},
		{ok("idp_metadata_file", twoIdPs, "idp_entity_id", "https://nobody.example.test"), `no entity found with entityID "https://nobody.example.test"`},
		{ok("idp_metadata_file", noRedirect), "has no SingleSignOnService with the HTTP-Redirect binding"},
		{ok("idp_metadata_file", noCert), "publishes no signing certificate"},
		{ok("idp_metadata_file", nil, "idp_metadata_url", "http://idp.example.test/md"), `idp_metadata_url: "http://idp.example.test/md" is plain http: use https`},
		{ok("idp_metadata_file", nil, "idp_metadata_url", "ftp://idp.example.test/md"), "the scheme must be https"},
		{ok("idp_metadata_file", nil, "idp_metadata_url", "idp.example.test/md"), "is not a URL"},
		{ok("idp_metadata_file", nil, "idp_metadata_url", down), "idp_metadata_url: fetching " + down + ": dial tcp"},
		{ok("idp_metadata_file", nil, "idp_metadata_url", notFound.URL+"/md"), "idp_metadata_url: fetching " + notFound.URL + "/md: the server answered 404 Not Found"},
		{ok("ca_file", notPEM), "ca_file: is for an https idp_metadata_url"},
		{ok("idp_metadata_file", nil, "idp_metadata_url", "https://127.0.0.1:1/md", "ca_file", notPEM), "ca_file: " + notPEM + " holds no PEM certificate"},
		{ok("metadata_timeout", "1ms"), "metadata_timeout: must be between 100ms and 2m0s, got 1ms"},
		{ok("metadata_refresh", "10s"), "metadata_refresh: must be at least 1m0s"},
		{ok("sp_entity_id", "hr"), `sp_entity_id: "hr" is not an entity id`},
		{ok("sp_key_file", nil), "sp_key_file: is required"},
		{ok("sp_cert_file", nil), "sp_cert_file: is required"},
		{ok("sp_key_file", filepath.Join(dir, "missing.key")), "sp_key_file: cannot read it"},
		{ok("sp_key_file", notPEM), "sp_key_file: " + notPEM + ": holds no PEM private key"},
		{ok("sp_key_file", encrypted), "the key is encrypted"},
		{ok("sp_cert_file", notPEM), "sp_cert_file: " + notPEM + " holds no PEM certificate"},
		{ok("sp_cert_file", ecCert), "is not the certificate of sp_key_file"},
		{ok("sp_key_file", weakKey, "sp_cert_file", weakCert), "is a 1024-bit RSA key: use 2048 bits or more"},
		{ok("name_id_format", "x509"), `name_id_format: must be unspecified, persistent, transient or email, got "x509"`},
		{ok("clock_skew", "5m"), "clock_skew: must be between 0s and 3m0s, got 5m0s"},
		{ok("clock_skew", 30), `clock_skew: expected a duration like "60s"`},
		{ok("identity_lifetime", "10s"), "identity_lifetime: must be between 1m0s and 720h0m0s"},
		{ok("groups_attribute", ""), "groups_attribute: must name an attribute"},
		{ok("extra_attributes", []any{"dept", " "}), "extra_attributes[1]: must name an attribute"},
		{ok("extra_attributes", "dept"), "extra_attributes: expected a list"},
		{ok("idp_metadata", staticMetadata), "idp_metadata: unknown key"},
	} {
		err := configure(t, tc.cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v:\n got %v\nwant an error with %q", tc.cfg, err, tc.want)
		}
	}
}

// Metadata from a URL is fetched again when it is older than
// metadata_refresh, at a sign-in; while the URL fails, the copy held
// before stays in use and the URL is asked again a minute later.
func TestMetadataRefresh(t *testing.T) {
	md, err := os.ReadFile(staticMetadata)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	serve, fetches := md, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		if serve == nil {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(serve)
	}))
	defer srv.Close()
	set := func(b []byte) {
		mu.Lock()
		serve = b
		mu.Unlock()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return fetches
	}
	var clock struct {
		sync.Mutex
		t time.Time
	}
	clock.t = time.Now()
	now := func() time.Time { clock.Lock(); defer clock.Unlock(); return clock.t }
	advance := func(d time.Duration) { clock.Lock(); clock.t = clock.t.Add(d); clock.Unlock() }

	a := inProcess(t, with(baseConfig(), "idp_metadata_url", srv.URL, "metadata_refresh", "1h"), now)
	sso := func() string {
		u := mustURL(t, startSignIn(t, a).Location)
		return u.Host
	}
	if got := sso(); got != "idp.example.test" || count() != 1 {
		t.Fatalf("SSO host %s after %d fetches", got, count())
	}
	set([]byte(strings.ReplaceAll(string(md), "https://idp.example.test/saml2/idp/SSOService.php", "https://sso2.example.test/sso")))
	if got := sso(); got != "idp.example.test" || count() != 1 {
		t.Errorf("fetched again before metadata_refresh: SSO host %s, %d fetches", got, count())
	}
	advance(time.Hour)
	if got := sso(); got != "sso2.example.test" || count() != 2 {
		t.Errorf("after metadata_refresh: SSO host %s, %d fetches; want the new metadata", got, count())
	}
	set(nil)
	advance(time.Hour)
	if got := sso(); got != "sso2.example.test" || count() != 3 {
		t.Errorf("with the URL down: SSO host %s, %d fetches; want the copy held", got, count())
	}
	if got := sso(); got != "sso2.example.test" || count() != 3 {
		t.Errorf("right after a failure: %d fetches, want no new try for a minute", count())
	}
	set(md)
	advance(time.Minute)
	if got := sso(); got != "idp.example.test" || count() != 4 {
		t.Errorf("a minute after the failure: SSO host %s, %d fetches", got, count())
	}
}

// keyPair writes a key (RSA of bits, or ECDSA P-256 for 0) and a
// self-signed certificate for it.
func keyPair(t *testing.T, dir, name string, bits int) (keyFile, certFile string) {
	t.Helper()
	var key any
	var pub any
	var err error
	if bits == 0 {
		var k *ecdsa.PrivateKey
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		key, pub = k, &k.PublicKey
	} else {
		var k *rsa.PrivateKey
		k, err = rsa.GenerateKey(rand.Reader, bits)
		key, pub = k, &k.PublicKey
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, certFile = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return keyFile, certFile
}

// An ECDSA key signs the AuthnRequests with ECDSA-SHA256.
func TestECDSAKeySignsRequests(t *testing.T) {
	key, cert := keyPair(t, t.TempDir(), "ec", 0)
	a := inProcess(t, with(baseConfig(), "idp_metadata_file", staticMetadata, "sp_key_file", key, "sp_cert_file", cert), time.Now)
	loc := mustURL(t, startSignIn(t, a).Location)
	if got := loc.Query().Get("SigAlg"); got != "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" {
		t.Fatalf("SigAlg %q", got)
	}
	signed, _, _ := strings.Cut(loc.RawQuery, "&Signature=")
	sig, err := base64.StdEncoding.DecodeString(loc.Query().Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(certDER(t, cert))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(signed))
	if !ecdsa.VerifyASN1(c.PublicKey.(*ecdsa.PublicKey), digest[:], sig) {
		t.Error("the ECDSA signature does not verify")
	}
}
