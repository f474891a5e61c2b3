package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/e2e/browser"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// The admin console in real Chromium: alice (in gateway-admins) signs in
// at the real OpenID provider through the console's own sign-in, over
// plain HTTP on loopback, and sees the apps, the connector and her own
// sign-in; bob (not in the admin policy) gets 403. Screenshots of both
// are saved under e2e/artifacts/console/ (or $GATEHOUSE_ARTIFACTS).
func TestConsoleInBrowser(t *testing.T) {
	if why := browser.Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
	admin := freeAddr(t)
	callback := "http://" + admin + "/.gatehouse/auth/_console/callback"
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: []string{callback}})
	backend := newIdentityBackend(t, "app")
	base := gwConfig{Groups: []string{"default"}, Plugins: "  - {name: oidc, builtin: true}\n"}
	apps := []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: backend.URL, Auth: "passthrough"}}
	console := fmt.Sprintf("admin:\n  console:\n    auth: {plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile, email, groups]}}\n    access: {groups: [gateway-admins]}\n",
		op.Issuer, oplab.ClientID, oplab.ClientSecret)
	g := newGateway(t, base)
	for attempt := 1; ; attempt++ {
		g.writeConfigText(adminYAML(base, apps, g, admin) + console)
		g.proc = startProc(t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
		if g.waitStarted() || attempt == 3 {
			break
		}
		g.public, g.tunnel = freeAddr(t), freeAddr(t) // the admin address is registered at the provider: keep it
	}
	g.proc.requireAlive(t)
	conn := enrollConnector(t, g, "connector", "default")
	waitServingStatus(t, g.client(false), "https://app.localhost/", 200)
	if code, body := adminGet(t, admin, "/api/v1/status"); code != 200 {
		t.Fatalf("the JSON API asks for no sign-in on loopback: %d %s", code, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice := consoleSignIn(ctx, t, admin, oplab.Alice)
	defer alice.Close()
	text, err := alice.WaitText(ctx, "Recent sign-ins")
	if err != nil {
		t.Fatalf("no console after signing in: %v", err)
	}
	id := conn.id(t)
	for _, want := range []string{"app.localhost", id, "active", "signed in as", oplab.Alice, "signed_in", "Certificates"} {
		if !strings.Contains(text, want) {
			t.Errorf("the console does not show %q:\n%s", want, text)
		}
	}
	if html, _ := alice.HTML(ctx); !strings.Contains(html, `<td class="subject">alice</td>`) {
		t.Errorf("alice's own sign-in is not in the recent sign-ins:\n%s", text)
	}
	c, found, err := alice.Cookie(ctx, strings.Split(admin, ":")[0], "__Host-gatehouse._console")
	if err != nil || !found || !c.Secure || !c.HTTPOnly {
		t.Errorf("console session cookie %+v (found %v), %v: want Secure, HttpOnly", c, found, err)
	}
	saveScreenshot(ctx, t, alice, "console-admin.png")

	bob := consoleSignIn(ctx, t, admin, oplab.Bob)
	defer bob.Close()
	text, err = bob.WaitText(ctx, "Access denied")
	if err != nil {
		t.Fatalf("bob, outside the admin policy, was not refused: %v\n%s", err, text)
	}
	if strings.Contains(text, id) || strings.Contains(text, "app.localhost") {
		t.Errorf("the refusal shows the console's contents:\n%s", text)
	}
	if st, _ := bob.Navigate(ctx, "http://"+admin+"/"); st != 403 {
		t.Errorf("bob opening the console again: %d, want 403", st)
	}
	saveScreenshot(ctx, t, bob, "console-403.png")
}

// consoleSignIn opens the console in a fresh browser and signs user in at
// the provider; it returns once the browser is back on the admin
// listener.
func consoleSignIn(ctx context.Context, t *testing.T, admin, user string) *browser.Browser {
	t.Helper()
	b, err := browser.Start(ctx, browser.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Navigate(ctx, "http://"+admin+"/"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(ctx, `input[name="password"]`); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("no login page at the provider: %v\n%s", err, text)
	}
	for sel, v := range map[string]string{`input[name="username"]`: user, `input[name="password"]`: oplab.Password} {
		if err := b.Fill(ctx, sel, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Click(ctx, `form[action$="/login"] button[type="submit"]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == admin && u.Path == "/" }); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("%s did not land on the console: %v\n%s", user, err, text)
	}
	return b
}

// saveScreenshot keeps a PNG of the page as a test artifact.
func saveScreenshot(ctx context.Context, t *testing.T, b *browser.Browser, name string) {
	t.Helper()
	png, err := b.Screenshot(ctx)
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := os.Getenv("GATEHOUSE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("artifacts", "console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := filepath.Abs(filepath.Join(dir, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", p, len(png))
}
