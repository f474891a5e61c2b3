package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/e2e/browser"
	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
)

// Headless Chromium opens the app's external URL, is sent to a SAML IdP
// (SimpleSAMLphp), types alice's password, is posted back to the gateway,
// and lands on the backend page served through the connector, as alice.
func TestBrowserSAMLSignIn(t *testing.T) {
	if why := browser.Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
	g, idp, backend := samlGateway(t, "app")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := gatewayBrowser(ctx, t, g, "app.localhost")
	if _, err := b.Navigate(ctx, "https://app.localhost/reports?year=2026#section-2"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := b.WaitVisible(wctx, `input[name="password"]`); err != nil {
		u, _ := b.URL(ctx)
		html, _ := b.HTML(ctx)
		t.Fatalf("no login page at the IdP: %v\nat %s\n%.3000s", err, u, html)
	}
	if u, _ := b.URL(ctx); !strings.HasPrefix(u, strings.TrimSuffix(idp.URL, "/")) {
		t.Fatalf("the login page is at %s, want the IdP %s", u, idp.URL)
	}
	before := backend.hits.Load()
	for sel, v := range map[string]string{`input[name="username"]`: idplab.Alice, `input[name="password"]`: idplab.Password} {
		if err := b.Fill(ctx, sel, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Click(ctx, `form button[type="submit"], form input[type="submit"]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == "app.localhost" && u.Path == "/reports" }); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("did not land on the app: %v\n%s", err, text)
	}
	if _, err := b.WaitText(ctx, `"User":"alice"`); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("the backend page does not show alice: %v\n%s", err, text)
	}
	text, _ := b.Text(ctx)
	if !strings.Contains(text, "staff,hr") {
		t.Errorf("the backend did not get alice's groups from the IdP: %s", text)
	}
	if u, _ := b.URL(ctx); !strings.HasSuffix(u, "/reports?year=2026#section-2") {
		t.Errorf("landed on %s, want the address opened, fragment included", u)
	}
	if backend.hits.Load() == before {
		t.Error("the backend saw no request")
	}
}

// writeRSAPair writes a self-signed RSA-2048 certificate and its key (PEM).
func writeRSAPair(t *testing.T, keyFile, certFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: "gatehouse e2e SAML SP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// samlGateway starts a SimpleSAMLphp IdP and a gateway publishing the
// identity backend as each of apps (at APP.localhost), signed in by SAML
// with header sign-on, with a connector; the IdP trusts every app.
func samlGateway(t *testing.T, apps ...string) (*gatewayProc, *idplab.IdP, *identityBackend) {
	t.Helper()
	idp := startSAMLIdP(context.Background(), t)
	dir := t.TempDir()
	keyFile, certFile := filepath.Join(dir, "sp.key"), filepath.Join(dir, "sp.crt")
	writeRSAPair(t, keyFile, certFile) // RSA: SimpleSAMLphp 1.19 refuses ECDSA-signed requests
	backend := newIdentityBackend(t, "app")
	base := gwConfig{Groups: []string{"default"}, Plugins: "  - {name: saml, builtin: true}\n  - {name: header, builtin: true}\n"}
	var specs []appSpec
	for _, a := range apps {
		specs = append(specs, appSpec{Name: a, Host: a + ".localhost", Group: "default", URL: backend.URL,
			Auth:   fmt.Sprintf("{plugin: saml, config: {idp_metadata_url: %q, sp_key_file: %q, sp_cert_file: %q}}", idp.MetadataURL, keyFile, certFile),
			SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Remote-Groups: "{{join .Groups}}"}}}`,
		})
	}
	g := startGatewayWith(t, base, specs)
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	var mds [][]byte
	for _, a := range apps {
		md := get(t, c, "https://"+a+".localhost/.gatehouse/auth/"+a+"/callback?metadata")
		if md.Status != 200 || !strings.Contains(md.Body, "EntityDescriptor") {
			t.Fatalf("SP metadata of %s: %d %.200q", a, md.Status, md.Body)
		}
		mds = append(mds, []byte(md.Body))
	}
	if err := idp.Trust(mds...); err != nil {
		t.Fatal(err)
	}
	return g, idp, backend
}
