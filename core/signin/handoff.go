package signin

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/target"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// The portal's handoff signs a user in to an app host with the session
// they have at the portal, without another trip to the identity provider:
//
//  1. An app host without a session sends the browser's sign-in
//     (reserved.Start) to the portal: https://PORTAL/.gatehouse/sso
//     ?app=APP&return=PATH&n=NONCE (toPortal), with NONCE also in a
//     cookie of its own (handoffbrowser.go). The portal's list links to
//     the app host's reserved.Start, so every handoff starts there.
//  2. The portal (Portal.SSO), once the user is signed in there, mints a
//     token sealed for "handoff\x00APP\x00HOST": only that app on that host
//     opens it. It holds a random id, the portal session's id, sign-in
//     time and expiry, the identity and the nonce; it lives handoffTTL.
//     An SSO request without a nonce is refused.
//  3. The app host (App.Handoff) opens it, refuses it when expired, when
//     the browser's nonce cookie does not match (a token sent to another
//     browser: login CSRF) or when used before (Store.TryLock on its id,
//     on every node), checks the session's revocations, and starts its
//     own session with the SAME session id: a sign-out at the portal
//     (which revokes that id) locks every host reached through it. The
//     app's own access rules still apply: a rule that wants MFA or a
//     fresher sign-in sends the user to the identity provider instead
//     (startHere).

// handoffTTL is how long a handoff token may be used: a redirect's time.
const handoffTTL = 60 * time.Second

// reasonHandoff is the metrics' reason for a refused handoff.
const reasonHandoff = "handoff_refused"

// handoffToken is what a handoff token carries, sealed.
type handoffToken struct {
	ID       string       `json:"j"` // single use: Store.TryLock("handoff/"+ID)
	Session  string       `json:"s"` // the portal session's id, which the app session keeps
	SignedIn time.Time    `json:"i"` // when the user signed in at the identity provider
	Until    time.Time    `json:"u"` // the portal session's expiry: no app session outlives it
	Expires  time.Time    `json:"e"` // the token's own expiry
	Identity sdk.Identity `json:"id"`
	Nonce    string       `json:"n"` // the browser's, from its handoffCookie on the app host
}

func handoffPurpose(app, host string) string { return "handoff\x00" + app + "\x00" + host }

// PortalTarget is an app the portal signs users in to.
type PortalTarget struct {
	Host   string // lower-case, no port
	Prefix string
}

// Portal is the portal's side of the handoff.
type Portal struct {
	App     *App                    // the portal's own sign-in
	Targets map[string]PortalTarget // by app name: the apps with the portal's plug-in
}

// SSO serves reserved.SSO on the portal's host: a signed-in user gets a
// handoff token for the app and is sent to the app host with it; anyone
// else signs in at the portal first and then comes back here.
func (p *Portal) SSO(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
			Text: "Open this address with a browser.", RequestID: rid})
		return
	}
	q := r.URL.Query()
	name := q.Get("app")
	t, ok := p.Targets[name]
	if !ok {
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusNotFound, Title: "No such app",
			Text: "The portal does not sign you in to an app of that name. Open the app from the portal's list.", RequestID: rid,
			Links: []errorpage.Link{{Text: "Open the portal", Href: "/"}}})
		return
	}
	ret := safeReturn(q.Get("return"), t.Prefix)
	nonce := q.Get("n")
	if !validNonce(nonce) {
		p.refuseNoNonce(w, r, rid, name, t, ret)
		return
	}
	id, s, ok := p.App.SignedIn(w, r, reserved.StartReturn(p.App.Name, r.URL.RequestURI()))
	if !ok {
		return
	}
	tok, err := p.App.mintHandoff(name, t.Host, nonce, s, id)
	if err != nil {
		p.App.Gate.Logger.Error("handoff: cannot make a token", "app", name, "request_id", rid, "subject", id.Subject, "error", err)
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusInternalServerError, Title: "Cannot open the app",
			Text: "The portal could not sign you in to this app. Open the app's own address to sign in there.", RequestID: rid})
		return
	}
	p.App.Gate.Logger.Info("handoff issued", "app", name, "host", t.Host, "request_id", rid, "subject", id.Subject, "session", s.ID)
	w.Header().Set("Referrer-Policy", "no-referrer")
	SeeOther(w, "https://"+withPort(t.Host, r.Host)+reserved.Handoff(name)+"?token="+tok+"&return="+url.QueryEscape(ret))
}

// SignedIn returns the signed-in user of r and their session, checked as
// a request to the app is (revocations, the access policy). With ok false
// it has answered: without a valid session the browser goes to ret, where
// signing in starts.
func (a *App) SignedIn(w http.ResponseWriter, r *http.Request, ret string) (sdk.Identity, session.Session, bool) {
	rid := w.Header().Get("X-Request-Id")
	now := a.Gate.Now()
	s, found := a.session(r, rid, now)
	if !found {
		SeeOther(w, ret)
		return sdk.Identity{}, session.Session{}, false
	}
	id, v := a.check(w, r, rid, s, now)
	switch v {
	case pass:
		return id, s, true
	case reauth:
		SeeOther(w, ret)
	}
	return sdk.Identity{}, session.Session{}, false
}

// mintHandoff seals a handoff token for app on host, for the browser
// with nonce, from the portal session s of the user id.
func (a *App) mintHandoff(app, host, nonce string, s session.Session, id sdk.Identity) (string, error) {
	now := a.Gate.Now()
	exp := now.Add(handoffTTL)
	if s.Expires.Before(exp) {
		exp = s.Expires
	}
	b, err := json.Marshal(handoffToken{ID: rand.Text(), Session: s.ID, SignedIn: s.IssuedAt, Until: s.Expires,
		Expires: exp, Identity: id, Nonce: nonce})
	if err != nil {
		return "", err
	}
	v := a.Gate.Sealer.Seal(handoffPurpose(app, host), b)
	if len(v) > session.MaxCookie {
		return "", errors.New("the identity is too large for a handoff token (too many groups or claims)")
	}
	return v, nil
}

// openHandoff opens a token for this app on r's host; why says, in words
// for the log, why it is refused ("" when it is not).
func (a *App) openHandoff(r *http.Request, value string, now time.Time) (tok handoffToken, why string) {
	if value == "" {
		return tok, "no token"
	}
	b, err := a.Gate.Sealer.Open(handoffPurpose(a.Name, httphead.HostName(r.Host)), value)
	if err != nil {
		return tok, "the token is not valid here (forged, altered, or made for another app or host)"
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.ID == "" || tok.Session == "" || tok.Identity.Subject == "" {
		return handoffToken{}, "the token is malformed"
	}
	if !now.Before(tok.Expires) {
		return tok, "the token has expired"
	}
	if !a.sameBrowser(r, tok) {
		return tok, whyOtherBrowser
	}
	return tok, ""
}

// Handoff serves reserved.Handoff: it signs the user in with a token the
// portal made for this app and host, then sends them on to return.
func (a *App) Handoff(w http.ResponseWriter, r *http.Request) {
	rid := w.Header().Get("X-Request-Id")
	w.Header().Set("Referrer-Policy", "no-referrer")
	q := r.URL.Query()
	ret := safeReturn(q.Get("return"), a.Prefix)
	if r.Method != http.MethodGet {
		a.refuseHandoff(w, r, rid, "", "not a GET", ret)
		return
	}
	now := a.Gate.Now()
	tok, why := a.openHandoff(r, q.Get("token"), now)
	if why != "" {
		a.refuseHandoff(w, r, rid, tok.Identity.Subject, why, ret)
		return
	}
	a.clearNonce(w)
	fresh, err := a.Gate.Store.TryLock(r.Context(), "handoff/"+tok.ID, rand.Text(), now, tok.Expires)
	if err != nil {
		a.unavailable(w, r, rid, err)
		return
	}
	if !fresh {
		a.refuseHandoff(w, r, rid, tok.Identity.Subject, "the token was used before (replayed)", ret)
		return
	}
	id := tok.Identity
	s := session.Session{ID: tok.Session, IssuedAt: tok.SignedIn, Expires: handoffExpiry(tok, now, a.Lifetime)}
	switch a.revoked(w, r, rid, id, s) {
	case done:
		return
	case reauth:
		a.startHere(w, r, ret, rid)
		return
	}
	if a.needsIdP(r, rid, id, s, ret, now) {
		a.startHere(w, r, ret, rid)
		return
	}
	if s.Envelope, err = tunnel.SignEnvelope(a.Gate.Envelope, tunnel.Envelope{
		App: a.Name, Session: s.ID, IssuedAt: now, Expires: s.Expires, Identity: id}); err == nil {
		err = a.setSession(w, r, s)
	}
	if err != nil {
		a.Gate.Logger.Error("handoff: cannot start a session", "app", a.Name, "request_id", rid, "error", err)
		a.record(r, store.SignIn{Subject: id.Subject, Result: "failed", Reason: err.Error()}, reasonSessionError)
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusForbidden, Title: "Cannot sign you in",
			Text: "The portal vouched for you, but Gatehouse cannot start a session with this app. Tell your IT team.", RequestID: rid})
		return
	}
	a.Gate.Logger.Info("signed in through the portal", "app", a.Name, "plugin", a.Plugin, "request_id", rid,
		"subject", id.Subject, "session", s.ID, "expires", s.Expires.UTC().Format(time.RFC3339))
	a.record(r, store.SignIn{Subject: id.Subject, Result: "signed_in", Reason: "handoff from the portal"}, "")
	a.land(w, ret, rid)
}

// handoffExpiry is when the app session made from tok ends: the portal
// session's end, the app's session lifetime, or the identity provider's
// assertion's end, whichever comes first.
func handoffExpiry(tok handoffToken, now time.Time, lifetime time.Duration) time.Time {
	exp := now.Add(lifetime)
	if tok.Until.Before(exp) {
		exp = tok.Until
	}
	if e := tok.Identity.Expiry; !e.IsZero() && e.Before(exp) {
		exp = e
	}
	return exp
}

// needsIdP reports whether the app's access rules want a sign-in the
// portal's cannot give: one with MFA (or another method) the user did not
// use, or a fresher one. Any other refusal is answered by Admit on the
// first request, as for every session.
func (a *App) needsIdP(r *http.Request, rid string, id sdk.Identity, s session.Session, ret string, now time.Time) bool {
	if a.Policy == nil || a.Policy.Empty() {
		return false
	}
	path, _, _ := strings.Cut(ret, "?")
	path, _, _ = strings.Cut(path, "#")
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	d := a.Policy.Decide(policy.Input{Identity: id, SignedIn: s.IssuedAt, ClientIP: ClientIP(r), Method: http.MethodGet,
		Host: httphead.HostName(r.Host), Path: target.Policy(path, a.FoldPathCase), Now: now})
	if d.Allow || !(d.Reauth || d.Rule == "access.require_mfa" || d.Rule == "access.require_amr") {
		return false
	}
	a.Gate.Logger.Info("handoff: the app wants a stronger or fresher sign-in; signing in at the identity provider",
		"app", a.Name, "request_id", rid, "subject", id.Subject, "rule", d.Rule, "reason", d.Reason)
	return true
}

// setSession gives the browser the session cookie of s.
func (a *App) setSession(w http.ResponseWriter, r *http.Request, s session.Session) error {
	v, err := a.Gate.Sealer.SealSession(a.Name, httphead.HostName(r.Host), s)
	if err != nil {
		return err
	}
	http.SetCookie(w, a.NewSessionCookie(v, s.Expires)) // apps[].cookie (appcookie.go)
	return nil
}

// refuseHandoff answers a handoff that is refused, and logs and records
// why.
func (a *App) refuseHandoff(w http.ResponseWriter, r *http.Request, rid, subject, why, ret string) {
	a.Gate.Logger.Warn("handoff refused: "+why, "app", a.Name, "request_id", rid, "subject", subject, "client_ip", ClientIP(r).String())
	a.record(r, store.SignIn{Subject: subject, Result: "failed", Reason: "portal handoff refused: " + why}, reasonHandoff)
	errorpage.Write(w, r, errorpage.Page{Status: http.StatusBadRequest, Title: "Sign-in link not valid",
		Text:      "This sign-in link from the portal was used before, has expired, was not made for this app, or was opened in another browser than the one that asked for it. Open the app again to sign in.",
		RequestID: rid, Links: openAgain(ret, "Open the app again")})
}

// startHere begins a sign-in at the app's own identity provider, for the
// address ret on this host.
func (a *App) startHere(w http.ResponseWriter, r *http.Request, ret, rid string) {
	orig, _, _ := strings.Cut(ret, "#")
	r2 := r.Clone(r.Context())
	if u, err := url.ParseRequestURI(orig); err == nil {
		r2.URL = u
	}
	a.authenticate(w, r, a.authRequest(r2, nil, nil), ret, rid)
}

// withPort is host with the port of hostHeader (the public listener's, as
// the browser wrote it), if it has one.
func withPort(host, hostHeader string) string {
	if _, port, err := net.SplitHostPort(hostHeader); err == nil && port != "" {
		return net.JoinHostPort(host, port)
	}
	return host
}
