package signin

import (
	"html/template"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/core/errorpage"
)

// sameSite is the SameSite attribute of the app's session cookie: Lax
// unless the app says otherwise.
func (a *App) sameSite() http.SameSite {
	switch a.SameSite {
	case http.SameSiteStrictMode, http.SameSiteNoneMode:
		return a.SameSite
	}
	return http.SameSiteLaxMode
}

// SameSiteMode is the http.SameSite of a config value (lax, strict,
// none); anything else is Lax.
func SameSiteMode(v string) http.SameSite {
	switch v {
	case "strict":
		return http.SameSiteStrictMode
	case "none":
		return http.SameSiteNoneMode
	}
	return http.SameSiteLaxMode
}

// NewSessionCookie is the app's session cookie holding value, a sealed
// session that ends at expires: always Secure, HttpOnly and host-only
// (__Host-), with the app's SameSite, and Expires only for a persistent
// session (else the browser drops it when it closes). Everything that
// starts a session sets it through here.
func (a *App) NewSessionCookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: sessionCookie(a.Name), Value: value, Path: "/",
		Secure: true, HttpOnly: true, SameSite: a.sameSite()}
	if a.Persistent {
		c.Expires = expires
	}
	return c
}

// continueTmpl is the page that ends a sign-in for an app whose cookie
// is SameSite=Strict.
var continueTmpl = template.Must(template.New("continue").Parse(
	`<p>You are signed in. <a href="{{.}}">Continue to the app</a>.</p>`))

// land sends a browser that has just signed in on to ret. A redirect
// would carry on the navigation that the identity provider's site
// started, and a browser does not send a SameSite=Strict cookie on it:
// the app would ask for a sign-in again. For such an app the browser
// gets a page that goes on from the app's own site instead (a refresh,
// and a link for browsers that do not follow it).
func (a *App) land(w http.ResponseWriter, ret, rid string) {
	if a.sameSite() != http.SameSiteStrictMode {
		SeeOther(w, ret)
		return
	}
	body, err := errorpage.Body(continueTmpl, ret)
	if err != nil {
		SeeOther(w, ret)
		return
	}
	head := template.HTML(`<meta http-equiv="refresh" content="0;url=` + template.HTMLEscapeString(ret) + `">`) //nolint:gosec // escaped
	errorpage.Serve(w, errorpage.Frame{Title: "Signed in", RequestID: rid, Head: head}, body)
}
