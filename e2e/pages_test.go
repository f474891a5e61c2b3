package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/e2e/browser"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// Every page a person sees, in real Chromium at a desktop (1280x800) and
// a phone (390x844) size, against a real gateway, connector, OpenID
// provider and the demo app: the gateway's pages share one layout (brand
// header, main with an h1, footer), none scrolls sideways, titles are
// words only, every error page shows its request id, and no page shows a
// raw code such as access_denied. The provider's login form and the demo
// app fit the phone and label their inputs. Screenshots of each page go
// to e2e/artifacts/pages/PAGE-WIDTH.png.
func TestPagesLayout(t *testing.T) {
	if why := browser.Available(); why != "" {
		t.Skip("SKIPPING BROWSER TEST: " + why)
	}
	apps := []string{"app", "refuse", "denied", "vault"}
	var callbacks []string
	for _, a := range apps {
		callbacks = append(callbacks, "https://"+a+".localhost/.gatehouse/auth/"+a+"/callback")
	}
	op := startOIDCProvider(t, oplab.Options{RedirectURIs: callbacks})
	g := startPagesGateway(t, op, startDemoApp(t, "app"))
	hosts := []string{"nosuch.localhost", "down.localhost", "nocon.localhost"}
	for _, a := range apps {
		hosts = append(hosts, a+".localhost")
	}
	for _, vp := range []struct {
		width, height int
		mobile        bool
	}{{1280, 800, false}, {390, 844, true}} {
		t.Run(fmt.Sprint(vp.width), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			b := gatewayBrowser(ctx, t, g, hosts...)
			if err := b.SetViewport(ctx, vp.width, vp.height, vp.mobile); err != nil {
				t.Fatal(err)
			}
			pt := &pageTour{t: t, ctx: ctx, b: b, g: g, width: vp.width}
			pt.signInPages(op)
			pt.gatewayPages()
			pt.signOutPages(op)
		})
	}
}

// startPagesGateway runs a gateway with one app for each kind of page:
// app (the demo app, with sign-in), refuse (a sign-in to cancel), denied
// (an access policy nobody meets), vault (the credentials page), down (a
// backend that does not answer) and nocon (a group without a connector).
func startPagesGateway(t *testing.T, op *oplab.OP, demo string) *gatewayProc {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "vault.key")
	out, errOut, code := runCmd(t, "", connectorBin, "vault-key", "--out", keyFile)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) < 3 {
		t.Fatalf("vault-key: exit %d %q %q", code, out, errOut)
	}
	oidc := fmt.Sprintf("{plugin: oidc, config: {issuer: %q, client_id: %s, client_secret: %s, scopes: [openid, profile, email, groups]}}",
		op.Issuer, oplab.ClientID, oplab.ClientSecret)
	who := `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}", X-Remote-Name: "{{.Name}}"}}}`
	base := gwConfig{Groups: []string{"default", "spare"},
		Plugins: "  - {name: oidc, builtin: true}\n  - {name: header, builtin: true}\n  - {name: vault, builtin: true}\n"}
	specs := []appSpec{
		{Name: "app", Host: "app.localhost", Group: "default", URL: demo, Auth: oidc, SignOn: who},
		{Name: "refuse", Host: "refuse.localhost", Group: "default", URL: demo, Auth: oidc},
		{Name: "denied", Host: "denied.localhost", Group: "default", URL: demo, Auth: oidc, Access: "{groups: [nobody]}"},
		{Name: "vault", Host: "vault.localhost", Group: "default", URL: demo, Auth: oidc,
			SignOn: fmt.Sprintf("{plugin: vault, config: {mode: basic, key_file: %q}}", keyFile)},
		{Name: "down", Host: "down.localhost", Group: "default", URL: "http://" + freeAddr(t)},
		{Name: "nocon", Host: "nocon.localhost", Group: "spare", URL: demo},
	}
	g := newGateway(t, base)
	text := specYAML(base, specs, g.public, g.tunnel, g.dataDir)
	text = strings.Replace(text, "    host: vault.localhost\n",
		fmt.Sprintf("    host: vault.localhost\n    vault: {public_key: %q}\n", lines[len(lines)-1]), 1)
	g.writeConfigText(text)
	g.start()
	enrollConnector(t, g, "connector", "default")
	waitServingStatus(t, g.client(false), "https://app.localhost/", http.StatusUnauthorized)
	return g
}

// startDemoApp builds and runs examples/demoapp for the gateway app
// named app, and returns its URL.
func startDemoApp(t *testing.T, app string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demoapp")
	if out, errOut, code := runCmd(t, moduleRoot, goTool(), "build", "-o", bin, "./examples/demoapp"); code != 0 {
		t.Fatalf("building the demo app: exit %d %s %s", code, out, errOut)
	}
	addr := freeAddr(t)
	p := startProc(t, "demoapp", bin, "--addr", addr, "--app", app)
	p.log.waitLines(t, "the demo app to listen", 1, "demoapp listening on http://"+addr)
	return "http://" + addr
}

// pageTour visits the pages in one browser at one width.
type pageTour struct {
	t     *testing.T
	ctx   context.Context
	b     *browser.Browser
	g     *gatewayProc
	width int
}

// The kinds of page: the gateway's own (its layout), and the others
// (the identity provider's, the demo app's), which only have to fit,
// have a title and a language, and label their inputs.
const (
	gatewayPage = true
	otherPage   = false
)

// pageFacts is what a page looks like to the test, measured in the page.
type pageFacts struct {
	Status                   int
	Title, Lang, H1, Text    string
	Viewport                 bool
	ScrollWidth, ClientWidth int
	Header, Main, Footer     bool
	Unlabelled               []string
	RequestID                string
	Links, LowContrast       []string
}

const factsJS = `(() => {
 ` + contrastJS + `
 const d = document.documentElement, q = (s) => document.querySelector(s);
 const nav = performance.getEntriesByType('navigation')[0];
 return {Status: nav ? nav.responseStatus : 0, Title: document.title, Lang: d.lang,
  H1: q('main h1') ? q('main h1').innerText : '', Text: document.body.innerText,
  Viewport: !!q('meta[name=viewport][content*="width=device-width"]'),
  ScrollWidth: d.scrollWidth, ClientWidth: d.clientWidth,
  Header: !!q('header[role=banner] .brand'), Main: !!q('main#main > h1'), Footer: !!q('body > footer'),
  Unlabelled: [...document.querySelectorAll('input:not([type=hidden]),select,textarea')]
   .filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.type),
  RequestID: q('main .rid code') ? q('main .rid code').innerText : '',
  Links: [...document.querySelectorAll('main a, header a')].map(a => a.innerText + ' ' + a.getAttribute('href')),
  LowContrast: lowContrast()};
})()`

// contrastJS defines lowContrast(): the text on the page whose colour
// has less than the WCAG 2 minimum contrast with its background (4.5:1,
// 3:1 for large text), as "text (ratio)".
const contrastJS = `function lowContrast() {
 const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
 const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
 const bg = (e) => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
 const out = [];
 for (const e of document.querySelectorAll('body *')) {
  if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
  const st = getComputedStyle(e); if (st.visibility === 'hidden' || st.display === 'none' || !e.getClientRects().length) continue;
  const a = lum(rgb(st.color)), b = lum(bg(e)), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(st.fontSize), large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) out.push(e.innerText.trim().slice(0, 40) + ' (' + ratio.toFixed(2) + ')');
 }
 return out;
}`

var (
	statusInTitle = regexp.MustCompile(`(^|\s)[1-5]\d\d(\s|$)`)
	rawCode       = regexp.MustCompile(`\b[a-z]+_[a-z_]+\b`)
	requestID     = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// check measures the page on screen as name, saves its screenshot, and
// reports what does not hold; status 0 skips the status check.
func (p *pageTour) check(name string, status int, gateway bool) pageFacts {
	t := p.t
	t.Helper()
	var f pageFacts
	if err := p.b.EvalJSON(p.ctx, factsJS, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p.screenshot(name)
	fail := func(format string, args ...any) {
		t.Errorf("%s at %d px: "+format, append([]any{name, p.width}, args...)...)
	}
	if status != 0 && f.Status != status {
		fail("status %d, want %d", f.Status, status)
	}
	if f.Title == "" || statusInTitle.MatchString(f.Title) {
		fail("title %q: want words only", f.Title)
	}
	if f.Lang == "" || !f.Viewport {
		fail("lang %q, viewport meta %v", f.Lang, f.Viewport)
	}
	if f.ClientWidth > p.width || f.ScrollWidth > f.ClientWidth {
		fail("laid out %d px wide with %d px of content in a %d px window: it scrolls sideways", f.ClientWidth, f.ScrollWidth, p.width)
	}
	if len(f.Unlabelled) > 0 {
		fail("inputs without a label: %v", f.Unlabelled)
	}
	if len(f.LowContrast) > 0 {
		fail("text with too little contrast: %q", f.LowContrast)
	}
	if !gateway {
		return f
	}
	if !f.Header || !f.Main || !f.Footer || f.H1 != f.Title {
		fail("landmarks: header %v, main h1 %v, footer %v, h1 %q vs title %q", f.Header, f.Main, f.Footer, f.H1, f.Title)
	}
	if f.Status >= 400 && !requestID.MatchString(f.RequestID) {
		fail("an error page without a request id (%q)", f.RequestID)
	}
	if m := rawCode.FindString(f.Text); m != "" {
		fail("shows the raw code %q:\n%s", m, f.Text)
	}
	return f
}

// screenshot saves the whole page as artifacts/pages/NAME-WIDTH.png.
func (p *pageTour) screenshot(name string) {
	png, err := p.b.FullScreenshot(p.ctx)
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := os.Getenv("GATEHOUSE_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	dir = filepath.Join(dir, "pages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, p.width)), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// visit opens u and waits until the page whose h1 (or text) has want is
// shown on host (a sign-in in between goes through by itself).
func (p *pageTour) visit(u, want string) {
	p.t.Helper()
	if _, err := p.b.Navigate(p.ctx, u); err != nil {
		p.t.Fatal(err)
	}
	p.waitOn(hostOf(u), want)
}

func (p *pageTour) waitOn(host, want string) {
	p.t.Helper()
	if _, err := p.b.WaitURL(p.ctx, func(u *url.URL) bool { return u.Host == host }); err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.b.WaitText(p.ctx, want); err != nil {
		p.t.Fatal(err)
	}
}

func hostOf(u string) string {
	pu, _ := url.Parse(u)
	return pu.Host
}

// signInPages: the provider's login form; a sign-in cancelled there
// ("Sign-in refused"); alice signing in to the demo app.
func (p *pageTour) signInPages(op *oplab.OP) {
	t := p.t
	if _, err := p.b.Navigate(p.ctx, "https://refuse.localhost/"); err != nil {
		t.Fatal(err)
	}
	if err := p.b.WaitVisible(p.ctx, `input[name="password"]`); err != nil {
		t.Fatal(err)
	}
	p.check("idp-login", 0, otherPage)
	if err := p.b.Click(p.ctx, `form[action$="/abort"] button`); err != nil {
		t.Fatal(err)
	}
	p.waitOn("refuse.localhost", "Sign-in refused")
	f := p.check("signin-refused", http.StatusForbidden, gatewayPage)
	p.g.proc.log.waitLines(t, "a gateway log line with the refusal's request id", 1, "request_id="+f.RequestID)
	if !strings.Contains(strings.Join(f.Links, "\n"), "Try signing in again /") {
		t.Errorf("the refusal offers no way back: %v", f.Links)
	}
	if _, err := p.b.Navigate(p.ctx, "https://app.localhost/"); err != nil {
		t.Fatal(err)
	}
	for sel, v := range map[string]string{`input[name="username"]`: oplab.Alice, `input[name="password"]`: oplab.Password} {
		if err := p.b.Fill(p.ctx, sel, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.b.Click(p.ctx, `form[action$="/login"] button[type="submit"]`); err != nil {
		t.Fatal(err)
	}
	p.waitOn("app.localhost", "Signed in as")
	f = p.check("demoapp", http.StatusOK, otherPage)
	if !strings.Contains(f.Text, "Signed in as Alice Example") || !strings.Contains(strings.Join(f.Links, "\n"), "Sign out /.gatehouse/auth/app/signout") {
		t.Errorf("the demo app does not say who is signed in, or has no sign-out link: %v\n%s", f.Links, f.Text)
	}
}

// gatewayPages: the start page, and every error and form page the
// gateway has, with alice signed in at the provider.
func (p *pageTour) gatewayPages() {
	p.startPage()
	for _, pg := range []struct {
		name, url, want string
		status          int
		logged          bool // the gateway logs a line with the page's request id
	}{
		{"signin-expired", "https://app.localhost/.gatehouse/auth/app/callback?state=x&code=y", "Sign-in expired", http.StatusBadRequest, true},
		{"access-denied", "https://denied.localhost/", "Access denied", http.StatusForbidden, true},
		{"vault", "https://vault.localhost/.gatehouse/auth/vault/credentials", "Save and continue", http.StatusOK, false},
		{"device", "https://app.localhost/.gatehouse/cli/device", "Enter the code", http.StatusOK, false},
		{"device-unknown-code", "https://app.localhost/.gatehouse/cli/device?user_code=BBBB-BBBB", "Code not found", http.StatusNotFound, true},
		{"no-such-app", "https://nosuch.localhost/", "No such app", http.StatusNotFound, false},
		{"reserved-not-found", "https://app.localhost/.gatehouse/nothing-here", "Not found", http.StatusNotFound, false},
		{"app-not-answering", "https://down.localhost/", "App not answering", http.StatusBadGateway, true},
		{"app-unavailable", "https://nocon.localhost/", "App unavailable", http.StatusServiceUnavailable, true},
	} {
		p.visit(pg.url, pg.want)
		f := p.check(pg.name, pg.status, gatewayPage)
		if pg.logged && f.RequestID != "" {
			p.g.proc.log.waitLines(p.t, "a gateway log line with the request id of "+pg.name, 1, "request_id="+f.RequestID)
		}
	}
}

// startPage checks the page a browser gets before it signs in. It sends
// the browser on at once, so the test fetches it and shows it without
// its script and refresh tag (layout only).
func (p *pageTour) startPage() {
	t := p.t
	req, _ := http.NewRequest(http.MethodGet, "https://app.localhost/reports", nil)
	req.Header.Set("Accept", "text/html")
	r, err := do(t, p.g.client(false), req)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "location.replace(") {
		t.Fatalf("start page: %d %.300q", r.Status, r.Body)
	}
	still := regexp.MustCompile(`(?s)<script>.*?</script>|<noscript>.*?</noscript>`).ReplaceAllString(r.Body, "")
	if _, err := p.b.Navigate(p.ctx, "data:text/html;base64,"+base64.StdEncoding.EncodeToString([]byte(still))); err != nil {
		t.Fatal(err)
	}
	p.check("start", 0, gatewayPage)
}

// signOutPages: the demo app's Sign out link, the provider's sign-out
// page if the gateway ends its session there, and the "Signed out" page.
func (p *pageTour) signOutPages(op *oplab.OP) {
	t := p.t
	p.visit("https://app.localhost/", "Signed in as")
	if err := p.b.Click(p.ctx, `header a[href$="/signout"]`); err != nil {
		t.Fatal(err)
	}
	issuer := hostOf(op.Issuer)
	u, err := p.b.WaitURL(p.ctx, func(u *url.URL) bool { return u.Host == issuer || strings.HasSuffix(u.Path, "signedout") })
	if err != nil {
		t.Fatal(err)
	}
	if u.Host == issuer { // RP-initiated logout: the provider asks to confirm
		if err := p.b.WaitVisible(p.ctx, `button[name="logout"]`); err != nil {
			t.Fatal(err)
		}
		p.check("idp-signout", 0, otherPage)
		if err := p.b.Click(p.ctx, `button[name="logout"][value="yes"]`); err != nil {
			t.Fatal(err)
		}
	}
	p.waitOn("app.localhost", "Signed out")
	f := p.check("signed-out", http.StatusOK, gatewayPage)
	if !strings.Contains(strings.Join(f.Links, "\n"), "Sign in again /") {
		t.Errorf("the Signed out page offers no way back in: %v", f.Links)
	}
}
