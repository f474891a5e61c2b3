// Package console is the gateway's read-only admin console: one web page
// at / on the admin listener, rendered on the server with html/template
// (every string from the config, a connector, a plug-in or a user is
// escaped there), a small embedded style sheet, no JavaScript and no
// build step. Charts are inline SVG drawn from Rates, the per-minute
// request and error counts the gateway keeps in memory for the last hour.
//
// Who may see it is the Gate's decision, made on every request: an
// operator signed in through the same sign-in code as an app
// (core/signin) whom the admin access policy admits; or, for development
// on one's own machine only, anyone on loopback (dev_no_signin). With
// neither, the console answers 404 with a hint.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/core/errorpage"

	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/sdk"
)

//go:embed console.html console.css
var files embed.FS

var page = template.Must(template.New("console.html").Funcs(funcs).ParseFS(files, "console.html"))

// CSS is the path of the console's style sheet.
const CSS = "/console.css"

// Security headers of every console answer: nothing but the console's
// own origin may load anything, nothing may frame it, no script runs. The
// one inline style allowed, by its hash, is that of the error pages the
// sign-in answers with (package errorpage).
var csp = "default-src 'none'; style-src 'self' " + errorPageStyle() + "; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// errorPageStyle is the CSP source of the error pages' <style>: its
// hash, read from a page rendered once.
func errorPageStyle() string {
	w, r := httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept", "text/html")
	errorpage.Write(w, r, errorpage.Page{Status: http.StatusForbidden, Title: "x", Text: "x"})
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(w.Body.String())
	if m == nil {
		return ""
	}
	sum := sha256.Sum256([]byte(m[1]))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// An Auth is the console's sign-in (a *signin.App): the signed-in user
// of r whom the access policy admits, or ok false once it has answered
// (a redirect to ret to sign in, a 403).
type Auth interface {
	User(w http.ResponseWriter, r *http.Request, ret string) (sdk.Identity, bool)
}

// Gate is who may open the console under the live config.
type Gate struct {
	// SignIn is the console's sign-in; nil when admin.console.auth is not
	// set.
	SignIn Auth
	// Start is where signing in begins, returning to ret afterwards.
	Start func(ret string) string
	// DevNoSignin serves the console without sign-in (to loopback
	// clients of a loopback listener only).
	DevNoSignin bool
}

// Handler serves the console.
type Handler struct {
	// Gate returns the live gate (a reload may change it).
	Gate func() Gate
	// View gathers what the page shows; nil while the gateway's state is
	// not loaded yet.
	View func(ctx context.Context) *View
	// Loopback says the admin listener is bound to a loopback address.
	Loopback bool
	Logger   *slog.Logger
}

// ServeHTTP serves the page at / and its style sheet.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Request-Id", RequestID())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "the console is read-only: GET only", http.StatusMethodNotAllowed)
		return
	}
	if h.Loopback && !LoopbackHost(r.Host) {
		// A page elsewhere that has its name resolve to 127.0.0.1 (DNS
		// rebinding) must not read the console as its own origin.
		http.Error(w, "the admin listener answers to loopback names only (127.0.0.1, [::1], localhost)", http.StatusMisdirectedRequest)
		return
	}
	if r.URL.Path == CSS {
		css, _ := files.ReadFile("console.css")
		hd.Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write(css)
		return
	}
	user, ok := h.admit(w, r)
	if !ok {
		return
	}
	v := h.View(r.Context())
	if v == nil {
		http.Error(w, "the gateway's state is not loaded yet; try again in a moment", http.StatusServiceUnavailable)
		return
	}
	v.User = user
	hd.Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, v); err != nil && h.Logger != nil {
		h.Logger.Warn("admin console: rendering the page failed", "error", err)
	}
}

// admit returns who is looking at the console, or ok false once it has
// answered r.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) (string, bool) {
	g := h.Gate()
	switch {
	case g.SignIn != nil:
		ret := r.URL.RequestURI()
		if g.Start != nil {
			ret = g.Start(ret)
		}
		id, ok := g.SignIn.User(w, r, ret)
		if !ok {
			return "", false
		}
		return cmpOr(id.Name, id.Email, id.Subject), true
	case g.DevNoSignin && h.Loopback && loopbackPeer(r):
		return "", true
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("The admin console is off. Turn it on with admin.console in the gateway's config:\n" +
		"  admin:\n    console:\n      auth: {plugin: NAME, config: {...}}   # an Authenticator from plugins:\n" +
		"      access: {groups: [ADMIN-GROUP]}\n" +
		"(or, on a development machine with a loopback listen.admin, admin.console.dev_no_signin: true).\n" +
		"The JSON API is at /api/v1/status, apps, connectors and groups.\n"))
	return "", false
}

func cmpOr(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// LoopbackHost reports whether a Host header names this machine:
// localhost or a loopback IP, with or without a port.
func LoopbackHost(host string) bool {
	name := httphead.HostName(host)
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(name, "[]"))
	return err == nil && ip.IsLoopback()
}

func loopbackPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// RequestID is a new request id for the sign-in handlers the admin
// listener serves (they read it from X-Request-Id).
func RequestID() string { return rand.Text()[:16] }
