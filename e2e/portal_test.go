package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/e2e/browser"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// portalLab is a gateway with the My Apps portal at apps.localhost and
// six apps that sign in with the same OpenID provider (the real
// oidc-provider), served by one backend through a real connector:
//
//	app1     Engineering wiki   groups [engineering]
//	app2     Timesheets         everyone
//	app3     Ticket desk        groups [engineering, sales]
//	crm      CRM                groups [sales]
//	payroll  Payroll            require_mfa
//	secret   (hidden)           everyone, but not listed
type portalLab struct {
	op      *oplab.OP
	g       *gatewayProc
	backend *identityBackend
}

const portalHost = "apps.localhost"

var portalApps = []struct{ name, title, access string }{
	{"app1", "Engineering wiki", "{groups: [engineering]}"},
	{"app2", "Timesheets", ""},
	{"app3", "Ticket desk", "{groups: [engineering, sales]}"},
	{"crm", "CRM", "{groups: [sales]}"},
	{"payroll", "Payroll", "{require_mfa: true}"},
	{"secret", "Secret", ""},
}

func startPortalLab(t *testing.T) *portalLab {
	t.Helper()
	if why := browser.Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
	redirects := []string{"https://" + portalHost + "/.gatehouse/auth/_portal/callback"}
	for _, a := range portalApps {
		redirects = append(redirects, "https://"+a.name+".localhost/.gatehouse/auth/"+a.name+"/callback")
	}
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: redirects})
	backend := newIdentityBackend(t, "app")
	auth := fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile, email, groups]}}",
		op.Issuer, oplab.ClientID, oplab.ClientSecret)
	var apps []appSpec
	for _, a := range portalApps {
		entry := fmt.Sprintf("{name: %q, description: \"The %s app\"}", a.title, a.name)
		if a.name == "secret" {
			entry = "{hidden: true}"
		}
		apps = append(apps, appSpec{Name: a.name, Host: a.name + ".localhost", Group: "default", URL: backend.URL, Auth: auth,
			Access: a.access, Portal: entry, SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`})
	}
	base := gwConfig{Groups: []string{"default"}, Plugins: "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n"}
	g := startGatewayExtra(t, base, apps, fmt.Sprintf("portal:\n  host: %s\n  title: Example Corp apps\n  auth: %s\n", portalHost, auth))
	enrollConnector(t, g, "connector", "default")
	waitServingStatus(t, g.client(false), "https://app1.localhost/", 401) // the API answer: sign-in is on
	return &portalLab{op: op, g: g, backend: backend}
}

// startGatewayExtra is startGatewayWith with top-level YAML (extra)
// after the apps.
func startGatewayExtra(t testing.TB, base gwConfig, apps []appSpec, extra string) *gatewayProc {
	t.Helper()
	g := newGateway(t, base)
	for attempt := 1; ; attempt++ {
		g.writeConfigText(specYAML(base, apps, g.public, g.tunnel, g.dataDir) + extra)
		g.proc = startProc(g.t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
		if g.waitStarted() || attempt == 3 {
			break
		}
		g.public, g.tunnel = freeAddr(t), freeAddr(t)
	}
	g.proc.requireAlive(t)
	return g
}

// browser starts Chromium with every lab host sent to the gateway.
func (l *portalLab) browser(ctx context.Context, t *testing.T) *browser.Browser {
	t.Helper()
	hosts := []string{portalHost}
	for _, a := range portalApps {
		hosts = append(hosts, a.name+".localhost")
	}
	return gatewayBrowser(ctx, t, l.g, hosts...)
}

// signInAtPortal opens the portal, signs in as user at the provider and
// returns the portal page's text.
func (l *portalLab) signInAtPortal(ctx context.Context, t *testing.T, b *browser.Browser, user string) string {
	t.Helper()
	if _, err := b.Navigate(ctx, "https://"+portalHost+"/"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(ctx, `input[name="password"]`); err != nil {
		t.Fatalf("no login page at the provider: %v", err)
	}
	for sel, v := range map[string]string{`input[name="username"]`: user, `input[name="password"]`: oplab.Password} {
		if err := b.Fill(ctx, sel, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Click(ctx, `form[action$="/login"] button[type="submit"]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == portalHost && u.Path == "/" }); err != nil {
		t.Fatalf("did not land on the portal: %v", err)
	}
	text, err := b.WaitText(ctx, "Example Corp apps")
	if err != nil {
		t.Fatalf("the portal page: %v", err)
	}
	return text
}

// authRequests is how many sign-ins the provider has begun.
func (l *portalLab) authRequests(t *testing.T) int {
	t.Helper()
	n, err := l.op.AuthRequests(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listed checks which app titles the portal's text shows.
func listed(t *testing.T, who, text string, want ...string) {
	t.Helper()
	for _, a := range portalApps {
		shown := strings.Contains(text, a.title)
		if shown != containsString(want, a.title) {
			t.Errorf("%s's portal: %q shown=%v, want the list to be exactly %v:\n%s", who, a.title, shown, want, text)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Must show 1: alice signs in once at the portal, which lists exactly the
// apps her policies admit; she opens three apps on three hosts with no
// further sign-in at the provider (its count of authorization requests
// stays at one); signing out at the portal locks all three hosts. bob's
// list differs, and the MFA app is marked for him.
func TestPortalSingleSignOn(t *testing.T) {
	l := startPortalLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := l.browser(ctx, t)
	before := l.authRequests(t)
	text := l.signInAtPortal(ctx, t, b, oplab.Alice)
	listed(t, "alice", text, "Engineering wiki", "Timesheets", "Ticket desk", "Payroll")
	if strings.Contains(text, "needs a stronger sign-in") {
		t.Errorf("alice signed in with MFA, yet an app is marked as needing a stronger sign-in:\n%s", text)
	}
	if !strings.Contains(text, "Signed in as") {
		t.Errorf("the portal does not say who is signed in:\n%s", text)
	}

	l.checkPage(ctx, t, b)

	// Three app hosts: two from the portal's links, one opened directly.
	for _, app := range []string{"app1", "app2"} {
		if _, err := b.Navigate(ctx, "https://"+portalHost+"/"); err != nil {
			t.Fatal(err)
		}
		if err := b.Click(ctx, `a[href*="/.gatehouse/auth/`+app+`/start?"]`); err != nil {
			t.Fatal(err)
		}
		l.waitApp(ctx, t, b, app, "/")
	}
	if _, err := b.Navigate(ctx, "https://app3.localhost/tickets?open=1"); err != nil {
		t.Fatal(err)
	}
	l.waitApp(ctx, t, b, "app3", "/tickets")
	if n := l.authRequests(t) - before; n != 1 {
		t.Fatalf("the provider began %d sign-ins for the portal and three app hosts, want 1", n)
	}
	if got := l.g.log().Count(`msg="signed in through the portal"`); got != 3 {
		t.Errorf("%d handoffs in the gateway's log, want 3", got)
	}
	// Each handoff was bound to this browser by a nonce cookie on the app
	// host, which the handoff used up.
	cs, err := b.Cookies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.HasPrefix(c.Name, "__Host-gatehouse-handoff.") {
			t.Errorf("the nonce cookie %s on %s outlived its handoff", c.Name, c.Domain)
		}
	}

	// The browser's cookies, sent by a plain client, pass on every host;
	// after the portal's sign-out, none does.
	jar := l.cookies(ctx, t, b)
	for _, app := range []string{"app1", "app2", "app3"} {
		if st := l.appStatus(t, app, jar); st != http.StatusOK {
			t.Fatalf("%s with the browser's cookie: %d, want 200", app, st)
		}
	}
	if _, err := b.Navigate(ctx, "https://"+portalHost+"/"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ClickAndWait(ctx, `nav a[href$="/signout"]`); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"app1", "app2", "app3"} {
		if st := l.appStatus(t, app, jar); st == http.StatusOK {
			t.Errorf("%s still admits its session after the sign-out at the portal", app)
		}
	}

	// bob, in a browser of his own: a different list, the MFA app marked.
	b2 := l.browser(ctx, t)
	text = l.signInAtPortal(ctx, t, b2, oplab.Bob)
	listed(t, "bob", text, "Timesheets", "Ticket desk", "CRM", "Payroll")
	if !strings.Contains(text, "needs a stronger sign-in") {
		t.Errorf("bob signed in without MFA, and Payroll is not marked:\n%s", text)
	}
	html, _ := b2.HTML(ctx)
	if i := strings.Index(html, "/.gatehouse/auth/payroll/start?"); i < 0 || !strings.Contains(html[i:min(len(html), i+400)], "needs a stronger sign-in") {
		t.Errorf("the mark is not on Payroll's entry:\n%s", html)
	}
	// Opening it takes bob to the provider (the app wants MFA, which the
	// portal's sign-in lacks), which still says pwd: access denied.
	before = l.authRequests(t)
	if err := b2.Click(ctx, `a[href*="/.gatehouse/auth/payroll/start?"]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.WaitText(ctx, "Access denied"); err != nil {
		text, _ := b2.Text(ctx)
		t.Fatalf("bob opening Payroll: %v\n%s", err, text)
	}
	if n := l.authRequests(t) - before; n != 1 {
		t.Errorf("bob opening the MFA app began %d sign-ins at the provider, want 1 (the handoff must not stand in for MFA)", n)
	}
}

// waitApp waits for the backend page of app at path, as alice.
func (l *portalLab) waitApp(ctx context.Context, t *testing.T, b *browser.Browser, app, path string) {
	t.Helper()
	if _, err := b.WaitURL(ctx, func(u *url.URL) bool { return u.Host == app+".localhost" && u.Path == path }); err != nil {
		t.Fatalf("did not land on %s: %v", app, err)
	}
	if _, err := b.WaitText(ctx, `"User":"alice"`); err != nil {
		text, _ := b.Text(ctx)
		t.Fatalf("%s's backend page does not show alice: %v\n%s", app, err, text)
	}
}

// cookies are the browser's gateway session cookies, by host.
func (l *portalLab) cookies(ctx context.Context, t *testing.T, b *browser.Browser) map[string]*http.Cookie {
	t.Helper()
	cs, err := b.Cookies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*http.Cookie{}
	for _, c := range cs {
		if strings.HasPrefix(c.Name, "__Host-gatehouse.") {
			out[c.Domain] = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	return out
}

// appStatus is the status of an API request to app with its cookie from
// jar (no redirects followed).
func (l *portalLab) appStatus(t *testing.T, app string, jar map[string]*http.Cookie) int {
	t.Helper()
	c := jar[app+".localhost"]
	if c == nil {
		t.Fatalf("the browser has no session cookie for %s (cookies: %v)", app, jar)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://"+app+".localhost/", nil)
	req.AddCookie(c)
	cl := l.g.client(false)
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r, err := do(t, cl, req)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

// checkPage tries the portal page as a user would: the search box filters
// as one types (script), the same search as a form (?q=) filters on the
// server, and at phone and desktop widths the page fits the window.
// Screenshots go to artifacts/pages/portal-WIDTH.png.
func (l *portalLab) checkPage(ctx context.Context, t *testing.T, b *browser.Browser) {
	t.Helper()
	visible := func() []string {
		var names []string
		if err := b.EvalJSON(ctx, `[...document.querySelectorAll("#apps li:not([hidden]) .name")].map(e => e.textContent)`, &names); err != nil {
			t.Fatal(err)
		}
		return names
	}
	if err := b.Fill(ctx, "#q", "WIKI"); err != nil {
		t.Fatal(err)
	}
	if got := visible(); len(got) != 1 || got[0] != "Engineering wiki" {
		t.Errorf("typing WIKI in the search box shows %v, want [Engineering wiki]", got)
	}
	if _, err := b.Navigate(ctx, "https://"+portalHost+"/?q=ticket"); err != nil {
		t.Fatal(err)
	}
	if got := visible(); len(got) != 1 || got[0] != "Ticket desk" {
		t.Errorf("the search ?q=ticket (no script needed) shows %v, want [Ticket desk]", got)
	}
	for _, vp := range []struct {
		w, h   int
		mobile bool
	}{{390, 844, true}, {1280, 800, false}} {
		if err := b.SetViewport(ctx, vp.w, vp.h, vp.mobile); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Navigate(ctx, "https://"+portalHost+"/"); err != nil {
			t.Fatal(err)
		}
		var fit struct{ Scroll, Inner int }
		if err := b.EvalJSON(ctx, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`, &fit); err != nil {
			t.Fatal(err)
		}
		if fit.Scroll > fit.Inner {
			t.Errorf("at %dpx the portal scrolls sideways: scrollWidth %d > innerWidth %d", vp.w, fit.Scroll, fit.Inner)
		}
		png, err := b.FullScreenshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dir := os.Getenv("GATEHOUSE_ARTIFACTS")
		if dir == "" {
			dir = "artifacts"
		}
		if err := os.MkdirAll(filepath.Join(dir, "pages"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pages", fmt.Sprintf("portal-%d.png", vp.w)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
