package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/samlidp"
	"github.com/gatehouse/gatehouse/core/samlidp/splab"
	"github.com/gatehouse/gatehouse/e2e/browser"
	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
)

// Gatehouse as the SAML IdP of a backend app: SimpleSAMLphp, configured as
// a SAML service provider, is the backend of app "sp" behind a real
// connector. In Chromium alice signs in to Gatehouse (at a SimpleSAMLphp
// IdP, through the saml plug-in), opens the SP's page, and the SP, after
// an SP-initiated sign-in at Gatehouse, shows the NameID and attributes
// it got in Gatehouse's signed assertion. Then the SP itself refuses an
// assertion with one byte of its signed content changed, and a valid
// signed assertion for another audience, while it accepts the untouched
// one posted the same way (IdP-initiated, from the launch path).
func TestSAMLIdPSimpleSAMLphpSP(t *testing.T) {
	if why := browser.Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sp, err := splab.Start(ctx, splab.Options{PublicURL: "https://sp.localhost/"})
	if errors.Is(err, splab.ErrSkip) {
		t.Skipf("SAML SP not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Stop() })
	g, spec, dir, _ := samlIdPGateway(t, ctx, sp)

	b := gatewayBrowser(ctx, t, g, "sp.localhost")
	page := "https://sp.localhost/module.php/core/authenticate.php?as=" + splab.AuthSource
	if _, err := b.Navigate(ctx, page); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(ctx, `input[name="password"]`); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("no login page at the IdP: %v\n%.2000s", err, text)
	}
	for sel, v := range map[string]string{`input[name="username"]`: idplab.Alice, `input[name="password"]`: idplab.Password} {
		if err := b.Fill(ctx, sel, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Click(ctx, `form button[type="submit"], form input[type="submit"]`); err != nil {
		t.Fatal(err)
	}
	text, err := b.WaitText(ctx, "alice@EXAMPLE.TEST")
	if err != nil {
		text, _ = b.Text(ctx)
		u, _ := b.URL(ctx)
		t.Fatalf("the SP does not show alice's attributes: %v\nat %s\n%.3000s\nSP log:\n%s", err, u, text, sp.Log())
	}
	// The status page lists the NameID (value and format), then the attributes.
	for _, want := range []string{"NameId", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "alice@example.com",
		"Alice Example", "staff", "hr", "mail", "displayName", "memberOf", "upn"} {
		if !strings.Contains(text, want) {
			t.Errorf("the SP's page lacks %q:\n%s", want, text)
		}
	}
	if u, _ := b.URL(ctx); !strings.HasPrefix(u, page) {
		t.Errorf("the browser ended at %s, want the SP's page %s", u, page)
	}
	if n := len(g.log().lines(`msg="saml idp: assertion issued"`, "idp_initiated=false")); n != 1 {
		t.Errorf("the gateway logged %d SP-initiated assertions, want 1", n)
	}
	if shot, err := b.Screenshot(ctx); err == nil {
		_ = os.MkdirAll(filepath.Join("artifacts", "samlidp"), 0o755)
		_ = os.WriteFile(filepath.Join("artifacts", "samlidp", "sp-attributes.png"), shot, 0o644)
	}
	samlIdPLaunch(t, ctx, g, b, sp, page)
	samlIdPRejections(t, ctx, g, b, sp, spec, dir)
}

// samlIdPLaunch: with the SP's own session gone, the launch path (what the
// portal links to) signs alice in to the SP, IdP-initiated, and lands on
// launch_relay_state.
func samlIdPLaunch(t *testing.T, ctx context.Context, g *gatewayProc, b *browser.Browser, sp *splab.SP, page string) {
	old, found, err := b.Cookie(ctx, "sp.localhost", "SimpleSAMLSP")
	if err != nil || !found {
		all, _ := b.Cookies(ctx)
		t.Fatalf("the SP set no session cookie: %v %+v", err, all)
	}
	for _, name := range []string{"SimpleSAMLSP", "SimpleSAMLSPSessionID", "SimpleSAMLAuthToken"} {
		if err := b.SetCookie(ctx, browser.Cookie{Name: name, Value: "gone", Domain: "sp.localhost", Path: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Navigate(ctx, "https://sp.localhost/module.php/saml/sp/metadata.php/"+splab.AuthSource+"?output=xhtml"); err != nil {
		t.Fatal(err)
	}
	before := len(g.log().lines(`msg="saml idp: assertion issued"`, "idp_initiated=true"))
	if _, err := b.Navigate(ctx, "https://sp.localhost"+samlidp.LaunchPath("sp")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.String() == page }); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("the launch did not land on the relay state: %v\n%.2000s\nSP log:\n%s", err, text, sp.Log())
	}
	if _, err := b.WaitText(ctx, "alice@EXAMPLE.TEST"); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("after the launch the SP does not show alice: %v\n%.2000s", err, text)
	}
	if now, _, _ := b.Cookie(ctx, "sp.localhost", "SimpleSAMLSP"); now.Value == old.Value || now.Value == "gone" {
		t.Errorf("the SP did not start a new session for the launch (session cookie %q)", now.Value)
	}
	if n := len(g.log().lines(`msg="saml idp: assertion issued"`, "idp_initiated=true")); n != before+1 {
		t.Errorf("IdP-initiated assertions logged: %d, want %d", n, before+1)
	}
}

// samlIdPRejections posts to the SP's assertion consumer service, with
// alice's gateway session: a tampered assertion and one for another
// audience (both refused by the SP), then the genuine one (accepted).
func samlIdPRejections(t *testing.T, ctx context.Context, g *gatewayProc, b *browser.Browser, sp *splab.SP, spec []appSpec, dir string) {
	cookies, err := b.Cookies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var jar []string
	for _, c := range cookies {
		if c.Domain == "sp.localhost" {
			jar = append(jar, c.Name+"="+c.Value)
		}
	}
	c := g.client(false)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	genuine := samlLaunch(t, c, jar)
	if !strings.Contains(genuine.xml, "alice@example.com") {
		t.Fatalf("the launch assertion lacks alice's e-mail NameID:\n%s", genuine.xml)
	}
	tampered := genuine
	tampered.xml = strings.Replace(genuine.xml, "Alice Example", "Alice Exampme", 1)
	if tampered.xml == genuine.xml {
		t.Fatal("nothing to tamper with")
	}
	status, body := samlPost(t, c, jar, tampered)
	if status == http.StatusFound || status == http.StatusSeeOther || !strings.Contains(body, "Reference validation failed") {
		t.Fatalf("the SP did not refuse a tampered assertion for its signature (status %d):\n%.2000s", status, body)
	}
	t.Logf("tampered assertion: SP answered %d: %s", status, samlSPError(body))

	// Another audience: the same IdP key and entity id, a valid signature,
	// but issued to an SP with another entity id (config reloaded).
	other := append([]appSpec(nil), spec...)
	other[0].SAMLIdP = strings.Replace(spec[0].SAMLIdP, filepath.Join(dir, "sp.xml"), filepath.Join(dir, "other-sp.xml"), 1)
	g.writeConfigText(specYAML(gwConfig{Groups: []string{"default"}, Plugins: samlIdPPlugins}, other, g.public, g.tunnel, g.dataDir))
	g.proc.signal(t, syscall.SIGHUP)
	g.log().waitLines(t, "the reload to be logged", 1, "config reloaded")
	wrong := samlLaunch(t, c, jar)
	if !strings.Contains(wrong.xml, "<saml:Audience>https://sp.localhost/not-this-sp</saml:Audience>") {
		t.Fatalf("the reloaded IdP did not issue for the other audience:\n%s", wrong.xml)
	}
	status, body = samlPost(t, c, jar, wrong)
	if status == http.StatusFound || status == http.StatusSeeOther || !strings.Contains(body, "SimpleSAML") {
		t.Fatalf("the SP accepted an assertion for another audience (status %d):\n%.2000s", status, body)
	}
	if !strings.Contains(body, "is not a valid audience for the assertion") {
		t.Errorf("the SP refused the other audience's assertion, but not for its audience: %s\n%s", samlSPError(body), sp.Log())
	}
	t.Logf("other audience: SP answered %d: %s", status, samlSPError(body))

	// The genuine assertion, posted the same way, is accepted.
	status, body = samlPost(t, c, jar, genuine)
	if status != http.StatusFound && status != http.StatusSeeOther {
		t.Fatalf("the SP refused the genuine assertion (status %d): %s\n%s", status, samlSPError(body), sp.Log())
	}
}

// samlForm is an IdP-initiated Response as the launch page posts it.
type samlForm struct{ action, relay, xml string }

// samlLaunch opens the launch path with the gateway session in jar.
func samlLaunch(t *testing.T, c *http.Client, jar []string) samlForm {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://sp.localhost"+samlidp.LaunchPath("sp"), nil)
	req.Header.Set("Cookie", strings.Join(jar, "; "))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	field := func(re string) string {
		m := regexp.MustCompile(re).FindSubmatch(b)
		if m == nil {
			t.Fatalf("launch page (%s) without %s:\n%.2000s", resp.Status, re, b)
		}
		return html.UnescapeString(string(m[1]))
	}
	f := samlForm{action: field(`action="([^"]+)"`), relay: field(`name="RelayState" value="([^"]*)"`)}
	x, err := base64.StdEncoding.DecodeString(field(`name="SAMLResponse" value="([^"]+)"`))
	if err != nil {
		t.Fatal(err)
	}
	f.xml = string(x)
	return f
}

// samlPost posts f to its ACS and returns the SP's answer.
func samlPost(t *testing.T, c *http.Client, jar []string, f samlForm) (int, string) {
	t.Helper()
	form := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte(f.xml))}, "RelayState": {f.relay}}
	req, _ := http.NewRequest(http.MethodPost, f.action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", strings.Join(jar, "; "))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// samlSPError is the cause on SimpleSAMLphp's error page, roughly.
func samlSPError(body string) string {
	text := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(body, " ")
	text = strings.Join(strings.Fields(html.UnescapeString(text)), " ")
	if i := strings.Index(text, "Caused by:"); i >= 0 {
		text = text[i:]
	}
	return fmt.Sprintf("%.400s", text)
}

const samlIdPPlugins = "  - {name: saml, builtin: true}\n"

// samlIdPGateway starts a SimpleSAMLphp IdP (for signing in to Gatehouse)
// and a gateway publishing sp (at sp.localhost) with saml_idp, with a
// connector, and has each side trust the other.
func samlIdPGateway(t *testing.T, ctx context.Context, sp *splab.SP) (*gatewayProc, []appSpec, string, *idplab.IdP) {
	t.Helper()
	idp := startSAMLIdP(ctx, t)
	dir := t.TempDir()
	keyFile, certFile := filepath.Join(dir, "gw-sp.key"), filepath.Join(dir, "gw-sp.crt")
	writeRSAPair(t, keyFile, certFile)
	md, err := sp.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(md), `entityID="`+sp.EntityID+`"`, `entityID="https://sp.localhost/not-this-sp"`, 1)
	for name, b := range map[string][]byte{"sp.xml": md, "other-sp.xml": []byte(other)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	spec := []appSpec{{Name: "sp", Host: "sp.localhost", Group: "default", URL: sp.URL,
		Auth: fmt.Sprintf("{plugin: saml, config: {idp_metadata_url: %q, sp_key_file: %q, sp_cert_file: %q}}", idp.MetadataURL, keyFile, certFile),
		SAMLIdP: fmt.Sprintf("{sp_metadata_file: %q, name_id_format: email, launch_relay_state: %q, attributes: {mail: email, upn: upn, displayName: name, memberOf: groups}}",
			filepath.Join(dir, "sp.xml"), "https://sp.localhost/module.php/core/authenticate.php?as="+splab.AuthSource),
	}}
	g := startGatewayWith(t, gwConfig{Groups: []string{"default"}, Plugins: samlIdPPlugins}, spec)
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	gwSP := get(t, c, "https://sp.localhost/.gatehouse/auth/sp/callback?metadata")
	idpMD := get(t, c, "https://sp.localhost"+"/.gatehouse/saml/sp/metadata")
	if gwSP.Status != 200 || idpMD.Status != 200 || !strings.Contains(idpMD.Body, "IDPSSODescriptor") || !strings.Contains(idpMD.Body, "X509Certificate") {
		t.Fatalf("metadata: gateway SP %d, gateway IdP %d %.500s", gwSP.Status, idpMD.Status, idpMD.Body)
	}
	if err := idp.Trust([]byte(gwSP.Body)); err != nil {
		t.Fatal(err)
	}
	if err := sp.TrustIdP([]byte(idpMD.Body)); err != nil {
		t.Fatal(err)
	}
	return g, spec, dir, idp
}
