package signin

import (
	"context"
	"encoding/binary"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/sdk"
)

// A SignOuter is an Authenticator that can end the user's session at the
// identity provider (pluginhost.Authenticator: it asks only plug-ins
// that declared sdk.CapabilitySignOut, and answers "none" for others).
type SignOuter interface {
	SignOut(ctx context.Context, req sdk.SignOutRequest) (sdk.SignOutResult, error)
}

// signOutTTL bounds how long the identity provider's sign-out may take
// for the "Signed out" page to say that it happened.
const signOutTTL = 10 * time.Minute

func signOutPurpose(app, host string) string { return "signout\x00" + app + "\x00" + host }

// SignOut serves reserved.SignOut: it ends the session with the app: the
// browser forgets the cookie, and the store records the session as revoked
// until it would have expired, so a copy of the cookie is refused on every
// gateway node (and on every host a portal handoff carried the same
// session ID to). Then, if the app's plug-in can, the browser goes on to
// the identity provider to end the user's session there too, which sends
// it back to reserved.SignedOut; else the "Signed out" page comes at once.
func (a *App) SignOut(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	a.clearSessionCookie(w)
	var id sdk.Identity
	if s, found := a.session(r, rid, a.Gate.Now()); found {
		revoke := a.Gate.Store.RevokeSession
		if a.Gate.Revocations != nil {
			revoke = a.Gate.Revocations.RevokeSession // this node refuses the cookie at once
		}
		if err := revoke(r.Context(), s.ID, s.Expires); err != nil {
			a.Gate.Logger.Error("sign-out: cannot revoke the session", "app", a.Name, "request_id", rid, "session", s.ID, "error", err)
			errorpage.Write(w, r, errorpage.Page{Status: http.StatusServiceUnavailable, Title: "Sign-out incomplete",
				Text: "Your browser has forgotten the session, but Gatehouse could not record the sign-out. Try again in a minute.", RequestID: rid})
			return
		}
		a.Gate.Logger.Info("signed out", "app", a.Name, "request_id", rid, "session", s.ID)
		id, _ = a.Gate.identities.get(s) // a session whose envelope does not open signs out locally
	}
	a.signOutAtProvider(w, r, rid, id)
}

// clearSessionCookie makes the browser forget the app's session cookie.
func (a *App) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie(a.Name), Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: a.sameSite()})
}

// signOutAtProvider asks the plug-in where the identity provider ends
// the user's session, and sends the browser there; without an answer
// (a plug-in that cannot, an identity provider without sign-out) it shows
// the "Signed out" page.
func (a *App) signOutAtProvider(w http.ResponseWriter, r *http.Request, rid string, id sdk.Identity) {
	so, ok := a.Auth.(SignOuter)
	if !ok {
		a.signedOutPage(w, rid, signedOutLocal)
		return
	}
	host := httphead.HostName(r.Host)
	exp := binary.BigEndian.AppendUint64(nil, uint64(a.Gate.Now().Add(signOutTTL).Unix()))
	req := sdk.SignOutRequest{Identity: id, ReturnURL: reserved.SignedOutURL(r.Host, a.Name),
		State: a.Gate.Sealer.Seal(signOutPurpose(a.Name, host), exp)}
	if a.PlainHTTP {
		req.ReturnURL = "http" + strings.TrimPrefix(req.ReturnURL, "https")
	}
	res, err := so.SignOut(r.Context(), req)
	switch {
	case err != nil:
		a.Gate.Logger.Warn("sign-out: the plug-in cannot end the identity provider's session; signed out of the app only",
			"app", a.Name, "plugin", a.Plugin, "request_id", rid, "error", err)
		a.signedOutPage(w, rid, signedOutProviderFailed)
	case res.Location == "":
		a.Gate.Logger.Debug("sign-out: nothing to end at the identity provider", "app", a.Name, "request_id", rid, "reason", res.Reason)
		a.signedOutPage(w, rid, signedOutLocal)
	default:
		a.Gate.Logger.Info("sign-out: ending the identity provider's session", "app", a.Name, "plugin", a.Plugin, "request_id", rid, "subject", id.Subject)
		SeeOther(w, res.Location)
	}
}

// SignedOut serves reserved.SignedOut, the "Signed out" page, where the
// identity provider sends the browser back after its sign-out (GET, or
// POST for SAML's HTTP-POST binding). It never redirects: its one link
// is the app's own prefix, so nothing in the request can send the user
// elsewhere. The state it was given (OpenID Connect's state, SAML's
// RelayState) only chooses the text: a valid one says the provider's
// session was ended too.
func (a *App) SignedOut(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, HEAD, POST")
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
			Text: "This page is opened with GET.", RequestID: rid})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	state := r.FormValue("state") // query, or a POSTed form
	if state == "" {
		state = r.FormValue("RelayState")
	}
	kind := signedOutLocal
	if state != "" && a.signOutState(httphead.HostName(r.Host), state) {
		kind = signedOutProvider
	}
	a.signedOutPage(w, rid, kind)
}

// signOutState reports whether state is one SignOut sealed for this app
// and host, not older than signOutTTL.
func (a *App) signOutState(host, state string) bool {
	b, err := a.Gate.Sealer.Open(signOutPurpose(a.Name, host), state)
	if err != nil || len(b) != 8 {
		return false
	}
	return a.Gate.Now().Unix() < int64(binary.BigEndian.Uint64(b))
}

// What the "Signed out" page says.
type signedOutKind int

const (
	signedOutLocal          signedOutKind = iota // the app's session only
	signedOutProvider                            // the identity provider's too
	signedOutProviderFailed                      // the provider's could not be ended
)

var signedOutTmpl = template.Must(template.New("signedout").Parse(`{{if eq .Kind 1 -}}
<p>You are signed out of this app, and of your sign-in at your organisation's identity provider.</p>
<p class="muted">The next visit asks for your credentials again. You can also close the browser.</p>
{{- else if eq .Kind 2 -}}
<p>You are signed out of this app.</p>
<div class="notice"><p>Your sign-in at your organisation's identity provider could not be ended, so a new visit may sign you straight back in. Close the browser to end it.</p></div>
{{- else -}}
<p>You are signed out of this app.</p>
<p class="muted">If you signed in through your organisation's identity provider, your sign-in there may still be open: close the browser to end it.</p>
{{- end}}`))

// signedOutPage answers with the "Signed out" page, in the gateway's page
// layout, with a link to sign in again.
func (a *App) signedOutPage(w http.ResponseWriter, rid string, kind signedOutKind) {
	body, err := errorpage.Body(signedOutTmpl, struct{ Kind signedOutKind }{kind})
	if err != nil {
		body = "<p>You are signed out of this app.</p>"
	}
	errorpage.Serve(w, errorpage.Frame{Title: "Signed out", RequestID: rid,
		Links: []errorpage.Link{{Text: "Sign in again", Href: a.Prefix}}}, body)
}
