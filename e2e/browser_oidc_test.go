package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/e2e/browser"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// Headless Chromium opens the app's external URL, is sent to the OpenID
// provider, types alice's password, and lands on the backend page served
// through the connector, as alice, at the address it opened (#fragment
// included).
func TestBrowserOIDCSignIn(t *testing.T) {
	if why := browser.Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: []string{"https://app.localhost/.gatehouse/auth/app/callback"}})
	backend := newIdentityBackend(t, "app")
	base := gwConfig{Groups: []string{"default"}, Plugins: "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n"}
	g := startGatewayWith(t, base, []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: backend.URL,
		Auth:   fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile, email, groups]}}", op.Issuer, oplab.ClientID, oplab.ClientSecret),
		SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Remote-Groups: "{{join .Groups}}"}}}`,
	}})
	enrollConnector(t, g, "connector", "default")
	waitServingStatus(t, g.client(false), "https://app.localhost/", 401) // the API answer: sign-in is on

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := gatewayBrowser(ctx, t, g, "app.localhost")
	if _, err := b.Navigate(ctx, "https://app.localhost/reports?year=2026#section-2"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(ctx, `input[name="password"]`); err != nil {
		t.Fatalf("no login page at the provider: %v", err)
	}
	if u, _ := b.URL(ctx); !strings.HasPrefix(u, op.Issuer) {
		t.Fatalf("the login page is at %s, want the provider %s", u, op.Issuer)
	}
	before := backend.hits.Load()
	for sel, v := range map[string]string{`input[name="username"]`: oplab.Alice, `input[name="password"]`: oplab.Password} {
		if err := b.Fill(ctx, sel, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Click(ctx, `form[action$="/login"] button[type="submit"]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == "app.localhost" && u.Path == "/reports" }); err != nil {
		t.Fatalf("did not land on the app: %v", err)
	}
	if _, err := b.WaitText(ctx, `"User":"alice"`); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("the backend page does not show alice: %v\n%s", err, text)
	}
	u, _ := b.URL(ctx)
	if !strings.HasSuffix(u, "/reports?year=2026#section-2") {
		t.Errorf("landed on %s, want the address opened, fragment included", u)
	}
	text, _ := b.Text(ctx)
	if !strings.Contains(text, "engineering") {
		t.Errorf("the backend did not get alice's groups from the provider: %s", text)
	}
	if backend.hits.Load() == before {
		t.Error("the backend saw no request")
	}
	c, found, err := b.Cookie(ctx, "app.localhost", "__Host-gatehouse.app")
	if err != nil || !found || !c.Secure || !c.HTTPOnly || c.SameSite != "Lax" {
		t.Errorf("session cookie %+v (found %v), %v: want Secure, HttpOnly, SameSite=Lax", c, found, err)
	}
}
