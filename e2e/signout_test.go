package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/e2e/browser"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
)

// A sign-out that holds, in Chromium against the real OpenID provider:
// alice signs in, opens the app's sign-out address, confirms at the
// provider (RP-initiated logout) and lands on the gateway's "Signed out"
// page, which says the provider's session ended too. Her old cookie is
// refused. "Sign in again" goes to the provider, which asks for
// credentials (not straight back in as alice); bob signs in in the same
// browser and the app shows bob. First, alice signs in to a second app
// whose cookie is SameSite=Strict through the provider's form: no loop
// (the cookie is sent after the redirect from the provider's site), and
// the cookie says Strict.
func TestBrowserSignOutHolds(t *testing.T) {
	if why := browser.Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: []string{
		"https://app.localhost/.gatehouse/auth/app/callback", "https://strict.localhost/.gatehouse/auth/strict/callback"}})
	backend := newIdentityBackend(t, "app")
	auth := fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile, email, groups]}}", op.Issuer, oplab.ClientID, oplab.ClientSecret)
	signOn := `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`
	base := gwConfig{Groups: []string{"default"}, Plugins: "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n"}
	g := startGatewayWith(t, base, []appSpec{
		{Name: "app", Host: "app.localhost", Group: "default", URL: backend.URL, Auth: auth, SignOn: signOn},
		{Name: "strict", Host: "strict.localhost", Group: "default", URL: backend.URL, Auth: auth, SignOn: signOn, Cookie: "{same_site: strict}"},
	})
	enrollConnector(t, g, "connector", "default")
	waitServingStatus(t, g.client(false), "https://app.localhost/", 401)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := gatewayBrowser(ctx, t, g, "app.localhost", "strict.localhost")

	// SameSite=Strict: alice signs in at the provider's form, whose
	// redirect back comes from the provider's site; the gateway's page
	// goes on from the app's own site, so the Strict cookie is sent.
	if _, err := b.Navigate(ctx, "https://strict.localhost/strict-page"); err != nil {
		t.Fatal(err)
	}
	signInAtOP(ctx, t, b, op, oplab.Alice)
	waitAppShows(ctx, t, b, "strict.localhost", "alice")
	if c, found, err := b.Cookie(ctx, "strict.localhost", "__Host-gatehouse.strict"); err != nil || !found || c.SameSite != "Strict" || !c.Secure || !c.HTTPOnly {
		t.Errorf("strict app's cookie %+v (found %v, %v): want SameSite=Strict, Secure, HttpOnly", c, found, err)
	}
	// One sign-in: a plain redirect after it would have lost the Strict
	// cookie and sent the browser round the provider a second time.
	if n := len(g.log().lines(`msg="signed in"`, "app=strict")); n != 1 {
		t.Errorf("the strict app signed alice in %d times, want 1:\n%s", n, strings.Join(g.log().lines("app=strict"), "\n"))
	}

	// The other app: the provider's session signs alice in at once.
	if _, err := b.Navigate(ctx, "https://app.localhost/"); err != nil {
		t.Fatal(err)
	}
	waitAppShows(ctx, t, b, "app.localhost", "alice")
	old, found, err := b.Cookie(ctx, "app.localhost", "__Host-gatehouse.app")
	if err != nil || !found {
		t.Fatalf("no session cookie after alice's sign-in (%v)", err)
	}

	// The printed sign-out address: to the provider, which asks to confirm.
	if _, err := b.Navigate(ctx, "https://app.localhost"+reserved.SignOut("app")); err != nil {
		t.Fatal(err)
	}
	if u, _ := b.URL(ctx); !strings.HasPrefix(u, op.Issuer+"/session/end") {
		t.Fatalf("sign-out went to %s, want the provider's end_session_endpoint %s/session/end", u, op.Issuer)
	}
	if err := b.Click(ctx, `button[name="logout"][value="yes"]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == "app.localhost" && u.Path == reserved.SignedOut("app") }); err != nil {
		t.Fatalf("did not come back to the Signed out page: %v", err)
	}
	if _, err := b.WaitText(ctx, "and of your sign-in at your organisation's identity provider"); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("the Signed out page does not say the provider's session ended: %v\n%s", err, text)
	}
	if html, _ := b.HTML(ctx); !strings.Contains(html, "<title>Signed out</title>") {
		t.Errorf("the page's title is not \"Signed out\":\n%s", html)
	}
	if _, found, _ := b.Cookie(ctx, "app.localhost", "__Host-gatehouse.app"); found {
		t.Error("the browser still holds the session cookie after sign-out")
	}
	// alice's old cookie, replayed by another client, is refused.
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://app.localhost/", nil)
	req.Header.Set("Cookie", old.Name+"="+old.Value)
	before := backend.hits.Load()
	if resp, err := g.client(false).Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("alice's cookie after sign-out: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	if backend.hits.Load() != before {
		t.Error("a request with the signed-out cookie reached the backend")
	}

	// "Sign in again": the provider asks for credentials; bob signs in.
	if err := b.Click(ctx, `main ul.actions a[href="/"]`); err != nil {
		t.Fatal(err)
	}
	signInAtOP(ctx, t, b, op, oplab.Bob)
	waitAppShows(ctx, t, b, "app.localhost", "bob")
	if c, _, _ := b.Cookie(ctx, "app.localhost", "__Host-gatehouse.app"); c.SameSite != "Lax" {
		t.Errorf("default app's cookie SameSite %q, want Lax", c.SameSite)
	}
}

// signInAtOP waits for the provider's login form (credentials asked) and
// signs in as user.
func signInAtOP(ctx context.Context, t *testing.T, b *browser.Browser, op *oplab.OP, user string) {
	t.Helper()
	if err := b.WaitVisible(ctx, `input[name="password"]`); err != nil {
		t.Fatalf("the provider did not ask for credentials (signing in as %s): %v", user, err)
	}
	if u, _ := b.URL(ctx); !strings.HasPrefix(u, op.Issuer) {
		t.Fatalf("the login form is at %s, want the provider %s", u, op.Issuer)
	}
	for _, f := range [][2]string{{`input[name="username"]`, user}, {`input[name="password"]`, oplab.Password}} {
		if err := b.Fill(ctx, f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Click(ctx, `form[action$="/login"] button[type="submit"]`); err != nil {
		t.Fatal(err)
	}
}

// waitAppShows waits until the backend's page on host shows user.
func waitAppShows(ctx context.Context, t *testing.T, b *browser.Browser, host, user string) {
	t.Helper()
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == host && !strings.HasPrefix(u.Path, reserved.Prefix) }); err != nil {
		t.Fatalf("did not land on %s: %v", host, err)
	}
	if _, err := b.WaitText(ctx, `"User":"`+user+`"`); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("%s does not show %s: %v\n%s", host, user, err, text)
	}
}

// SAML single logout in Chromium against SimpleSAMLphp: alice signs in,
// opens the sign-out address; the gateway sends a signed LogoutRequest
// to the IdP, which ends its session and sends its LogoutResponse back
// to the "Signed out" page. "Sign in again" meets the IdP's login page,
// and bob signs in in the same browser.
func TestBrowserSAMLSingleLogout(t *testing.T) {
	if why := browser.Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
	g, idp, _ := samlGateway(t, "app")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := gatewayBrowser(ctx, t, g, "app.localhost")
	if _, err := b.Navigate(ctx, "https://app.localhost/"); err != nil {
		t.Fatal(err)
	}
	signInAtSAMLIdP(ctx, t, b, strings.TrimSuffix(idp.URL, "/"), idplab.Alice)
	waitAppShows(ctx, t, b, "app.localhost", "alice")

	if _, err := b.Navigate(ctx, "https://app.localhost"+reserved.SignOut("app")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == "app.localhost" && u.Path == reserved.SignedOut("app") }); err != nil {
		t.Fatalf("did not come back to the Signed out page: %v\nIdP log:\n%s", err, idp.Log())
	}
	if u, _ := b.URL(ctx); !strings.Contains(u, "SAMLResponse=") {
		t.Errorf("the Signed out page was reached without the IdP's LogoutResponse: %s", u)
	}
	if _, err := b.WaitText(ctx, "and of your sign-in at your organisation's identity provider"); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("the Signed out page does not say the IdP's session ended: %v\n%s", err, text)
	}
	if err := b.Click(ctx, `main ul.actions a[href="/"]`); err != nil {
		t.Fatal(err)
	}
	signInAtSAMLIdP(ctx, t, b, strings.TrimSuffix(idp.URL, "/"), idplab.Bob)
	waitAppShows(ctx, t, b, "app.localhost", "bob")
}

// signInAtSAMLIdP waits for SimpleSAMLphp's login form (credentials
// asked) and signs in as user.
func signInAtSAMLIdP(ctx context.Context, t *testing.T, b *browser.Browser, idpURL, user string) {
	t.Helper()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := b.WaitVisible(wctx, `input[name="password"]`); err != nil {
		u, _ := b.URL(ctx)
		t.Fatalf("the IdP did not ask for credentials (signing in as %s): %v at %s", user, err, u)
	}
	if u, _ := b.URL(ctx); !strings.HasPrefix(u, idpURL) {
		t.Fatalf("the login page is at %s, want the IdP %s", u, idpURL)
	}
	for _, f := range [][2]string{{`input[name="username"]`, user}, {`input[name="password"]`, idplab.Password}} {
		if err := b.Fill(ctx, f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Click(ctx, `form button[type="submit"], form input[type="submit"]`); err != nil {
		t.Fatal(err)
	}
}

// TestHostileSignOut: the "Signed out" page, which anyone can link to
// with any query, sends nobody anywhere and claims nothing it cannot
// check.
func TestHostileSignOut(t *testing.T) {
	l := startSessionLab(t)
	page := "https://app.localhost" + reserved.SignedOut("app")
	const local = "may still be open"
	plain := func(r response) string {
		return fmt.Sprintf("%d, Location %q, link to / %v, evil.example %v, cautious text %v", r.Status, r.Header.Get("Location"),
			strings.Contains(r.Body, `<a href="/">Sign in again</a>`), strings.Contains(r.Body, "evil.example"), strings.Contains(r.Body, local))
	}
	safe := func(r response) bool {
		return r.Status == http.StatusOK && r.Header.Get("Location") == "" && strings.Contains(r.Body, `<a href="/">Sign in again</a>`) &&
			!strings.Contains(r.Body, "evil.example") && strings.Contains(r.Body, local)
	}
	hostile(t, "redirect", "signed-out page with return addresses in its query", "200 page, no redirect, one link: the app's /", func(t *testing.T) (string, bool) {
		r := getWith(t, l.c, page+"?return=https://evil.example/&post_logout_redirect_uri=https://evil.example/&RelayState=https://evil.example/&next=//evil.example", "Accept", "text/html")
		return plain(r), safe(r)
	})
	hostile(t, "session", "signed-out page with a forged state", "200 page that does not claim the IdP signed the user out", func(t *testing.T) (string, bool) {
		r := getWith(t, l.c, page+"?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Accept", "text/html")
		return plain(r), safe(r)
	})
	hostile(t, "session", "signed-out page POSTed 1 MiB", "200 page, body not read past 64 KiB, cautious text", func(t *testing.T) (string, bool) {
		req, _ := http.NewRequest(http.MethodPost, page, strings.NewReader("RelayState="+strings.Repeat("A", 1<<20)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		r, err := do(t, l.c, req)
		if err != nil {
			return err.Error(), false
		}
		return plain(r), safe(r)
	})
	hostile(t, "session", "signed-out page of an app on another app's host", "404", func(t *testing.T) (string, bool) {
		r := getWith(t, l.c, "https://other.localhost"+reserved.SignedOut("app"), "Accept", "text/html")
		return fmt.Sprint(r.Status), r.Status == http.StatusNotFound
	})
	hostile(t, "session", "sign-out without a session", "200 Signed out page (nothing to revoke, no error)", func(t *testing.T) (string, bool) {
		r := getWith(t, l.c, "https://app.localhost"+reserved.SignOut("app"), "Accept", "text/html")
		return plain(r), safe(r) && strings.Contains(r.Body, "<title>Signed out</title>")
	})
}
