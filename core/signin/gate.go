// Package signin is the gateway's pre-authentication gate. For every
// request to an app with sign-in it finds the user's session cookie or, if
// there is none, asks the app's Authenticator plug-in who the caller is:
// redirect flows keep the plug-in's state sealed in a short-lived cookie,
// challenges are relayed, callbacks come back to reserved.Callback.
// A signed-in user gets a session cookie (sealed, per app and host) that
// is checked without a plug-in call, and the proxy gets an Admission:
// who the user is, the signed identity envelope to send to the connector
// and, for an app with the password vault, the sealed credentials. Anything unexpected fails
// closed: no request reaches the backend without an identity.
package signin

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/sdk"
)

// Revocations is the revocation state held in memory (cluster.Revocations).
type Revocations interface {
	Revocation(subject, sessionID string) (before time.Time, signedOut bool)
	// Current reports whether Revocation holds every revocation in the
	// store now (see Gate.MemoryFirst).
	Current() bool
	RevokeSession(ctx context.Context, id string, expires time.Time) error
}

// An Authenticator is the app's sign-in plug-in (pluginhost.Authenticator).
type Authenticator interface {
	Authenticate(ctx context.Context, req sdk.AuthRequest) (sdk.AuthResult, error)
}

// Gate holds what every app's sign-in shares. It is built once per
// gateway; the apps come and go with the config.
type Gate struct {
	Sealer   *session.Sealer
	Envelope ed25519.PrivateKey // signs identity envelopes
	Store    Store              // revocations and the sign-in log
	// Revocations, when set, holds the store's revocations in memory
	// (cluster.Revocations, following the store's change feed) and
	// records sign-outs through to the store. A check reads Store and,
	// when the store fails, answers from Revocations: an outage keeps
	// serving sessions, never one revoked before it. With MemoryFirst, a
	// check answers from Revocations alone while Revocations.Current,
	// with no store read per request, and reads Store otherwise (the
	// gateway sets it for every store: PostgreSQL's changes reach every
	// node within milliseconds through LISTEN/NOTIFY; on SQLite, Current
	// is one stat of the file and its WAL, so a commit by another process
	// sends the next check to the file). nil: every check reads Store.
	Revocations Revocations
	MemoryFirst bool
	Logger      *slog.Logger
	Now         func() time.Time
	Metrics     *metrics.Metrics // sign-in outcomes; nil: none

	identities identities
	tally      tally        // outcomes of unidentified requests, counted not stored
	recent     recent       // identical sign-in records, stored once a minute
	device     deviceLimits // gatehouse connect --device's limits (device.go)
}

// App is one app's sign-in; it implements proxy.Guard.
type App struct {
	Name     string
	Host     string // lower-case, no port
	Prefix   string // the app's path prefix, where a user lands after signing in
	Plugin   string // the Authenticator's catalog name, for logs
	Auth     Authenticator
	Lifetime time.Duration
	// Persistent sessions survive a browser restart (cookie Expires set).
	Persistent bool
	// SameSite is the session cookie's SameSite (SameSiteMode); zero: Lax.
	SameSite http.SameSite
	Policy   *policy.Policy // conditional access; nil admits every signed-in user
	Vault    Vault          // the password vault; nil without it
	Gate     *Gate
	// FoldPathCase: the backend reads paths without regard to case, so
	// the access rule sees the path in lower case (target.Policy).
	FoldPathCase bool
	// Portal is the portal's host when users sign in to this app through
	// the portal's session (handoff.go); "" otherwise.
	Portal string
	// PlainHTTP: served over plain HTTP on loopback (the admin console),
	// so the request and callback URLs the plug-in sees are http://.
	PlainHTTP bool
}

// Cookie names. App names have no ".", so no app's cookie can be taken
// for another's.
const (
	cookiePrefix = "__Host-gatehouse"
	stateTTL     = 10 * time.Minute
	maxBody      = 64 << 10
)

func sessionCookie(app string) string { return cookiePrefix + "." + app }
func stateCookie(app string) string   { return cookiePrefix + "-state." + app }

// Admit decides whether r may go on to the backend. It returns the
// admission to send with it, or ok false when it has answered the client
// itself (a redirect to sign in, a challenge, an error page).
func (a *App) Admit(w http.ResponseWriter, r *http.Request, rid string) (Admission, bool) {
	now := a.Gate.Now()
	if s, found := a.session(r, rid, now); found {
		id, v := a.check(w, r, rid, s, now)
		switch v {
		case pass:
			return a.admitted(w, r, rid, s, id)
		case done:
			return Admission{}, false
		}
	}
	if browserNavigation(r) {
		a.writeStart(w, r, rid)
		return Admission{}, false
	}
	ret := a.Prefix
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		ret = r.URL.RequestURI()
	}
	res, err := a.Auth.Authenticate(r.Context(), a.authRequest(r, nil, nil))
	if err != nil {
		a.unavailable(w, r, rid, err)
		return Admission{}, false
	}
	if res.Outcome == sdk.OutcomeAuthenticated {
		return a.direct(w, r, rid, res, now)
	}
	a.answer(w, r, res, ret, rid)
	return Admission{}, false
}

// direct admits a request the Authenticator signed in by itself (an API
// key, a bearer token): a credential issued before the user's sessions
// were revoked is refused before any session starts.
func (a *App) direct(w http.ResponseWriter, r *http.Request, rid string, res sdk.AuthResult, now time.Time) (Admission, bool) {
	v := a.revoked(w, r, rid, res.Identity, session.Session{IssuedAt: now})
	if v == pass {
		s, err := a.signIn(w, r, res, rid)
		if err != nil {
			return Admission{}, false
		}
		if v = a.allowed(w, r, rid, res.Identity, s, now); v == pass {
			return a.admitted(w, r, rid, s, res.Identity)
		}
	}
	if v == reauth {
		a.record(r, store.SignIn{Subject: res.Identity.Subject, Result: "denied", Reason: "credential issued before the user's sessions were revoked, or too old"}, reasonRevoked)
		if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("Www-Authenticate", `Bearer error="invalid_token", error_description="the token was issued before the user's sessions were revoked"`)
		}
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusUnauthorized, Title: "Sign-in required",
			Text: "Your sign-in is no longer valid (it was revoked, or is too old). Sign in again; an API client needs a new token.", RequestID: rid})
	}
	return Admission{}, false
}

// session returns the request's valid session cookie for the app, if any,
// else its valid CLI session token (cli.go).
func (a *App) session(r *http.Request, rid string, now time.Time) (session.Session, bool) {
	c, err := r.Cookie(sessionCookie(a.Name))
	if err != nil {
		return a.bearerSession(r, rid, now)
	}
	s, err := a.Gate.Sealer.OpenSession(a.Name, httphead.HostName(r.Host), c.Value, now)
	if err != nil {
		a.Gate.Logger.Debug("session cookie refused", "app", a.Name, "request_id", rid, "error", err)
		return a.bearerSession(r, rid, now)
	}
	return s, true
}

// authRequest is what the Authenticator sees of r: never the gateway's
// own cookies.
func (a *App) authRequest(r *http.Request, state, body []byte) sdk.AuthRequest {
	h := r.Header.Clone()
	StripCookies(h)
	a.stripOwnBearer(r, h)
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	req := sdk.AuthRequest{
		Method: r.Method, URL: "https://" + r.Host + r.URL.RequestURI(), Header: h, RemoteAddr: host,
		CallbackURL:  reserved.Callback(r.Host, a.Name),
		SignedOutURL: reserved.SignedOutURL(r.Host, a.Name),
		State:        state, Body: body,
	}
	if a.PlainHTTP {
		req.URL, req.CallbackURL = "http"+strings.TrimPrefix(req.URL, "https"), "http"+strings.TrimPrefix(req.CallbackURL, "https")
		req.SignedOutURL = "http" + strings.TrimPrefix(req.SignedOutURL, "https")
	}
	return req
}

// answer relays a result that is not a sign-in: a redirect (keeping the
// plug-in's state and where to return in a sealed cookie), a challenge,
// or "nobody" when the plug-in did not recognise the request.
func (a *App) answer(w http.ResponseWriter, r *http.Request, res sdk.AuthResult, ret, rid string) {
	switch res.Outcome {
	case sdk.OutcomeRedirect:
		st := session.State{ID: rand.Text(), Plugin: res.State, Return: ret, Expires: a.Gate.Now().Add(stateTTL)}
		http.SetCookie(w, &http.Cookie{
			Name: stateCookie(a.Name), Value: a.Gate.Sealer.SealState(a.Name, httphead.HostName(r.Host), st),
			Path: "/", MaxAge: int(stateTTL / time.Second), Secure: true, HttpOnly: true,
			// An identity provider may POST back (SAML): a Lax cookie would not come along.
			SameSite: http.SameSiteNoneMode,
		})
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, res.Location, http.StatusFound)
		a.unidentified("redirected", "")
	case sdk.OutcomeChallenge:
		h := w.Header()
		for k, vs := range res.Header {
			if http.CanonicalHeaderKey(k) == "Set-Cookie" {
				vs = foreignCookies(vs)
			}
			for _, v := range vs {
				h.Add(k, v)
			}
		}
		h.Set("Cache-Control", "no-store")
		h.Set("X-Request-Id", rid)
		if !a.pluginPage(w, r, res, ret, rid) {
			w.WriteHeader(res.Status)
			_, _ = w.Write(res.Body)
		}
		a.Gate.Logger.Debug("sign-in challenged", "app", a.Name, "plugin", a.Plugin, "request_id", rid, "status", res.Status, "reason", res.Reason)
		if res.Reason != "" && res.Identity.Subject != "" { // a refusal of someone the plug-in named
			a.record(r, store.SignIn{Subject: res.Identity.Subject, Result: "challenged", Reason: res.Reason}, reasonChallenged)
		} else { // a prompt, a wrong key, a bad token: nobody to hold to it
			a.unidentified("challenged", reasonChallenged)
		}
	default: // not mine: nothing in the request says who this is
		a.Gate.Logger.Debug("sign-in required: the plug-in found no credentials", "app", a.Name, "plugin", a.Plugin, "request_id", rid)
		a.unidentified("no_credentials", reasonNoCredentials)
		errorpage.Write(w, r, errorpage.Page{Status: http.StatusUnauthorized, Title: "Sign-in required",
			Text: "This app needs you to sign in, and the request does not say who you are.", RequestID: rid})
	}
}

// signIn starts a session for the identity in res: it signs the envelope
// once, seals it into the session cookie, and returns it.
func (a *App) signIn(w http.ResponseWriter, r *http.Request, res sdk.AuthResult, rid string) (session.Session, error) {
	s, err := a.newSession(res.Identity)
	if err == nil {
		var v string
		if v, err = a.Gate.Sealer.SealSession(a.Name, httphead.HostName(r.Host), s); err == nil {
			http.SetCookie(w, a.NewSessionCookie(v, s.Expires))
			a.Gate.Logger.Info("signed in", "app", a.Name, "plugin", a.Plugin, "request_id", rid,
				"subject", res.Identity.Subject, "session", s.ID, "expires", s.Expires.UTC().Format(time.RFC3339))
			a.record(r, store.SignIn{Subject: res.Identity.Subject, Result: "signed_in", Reason: res.Reason}, "")
			return s, nil
		}
	}
	a.Gate.Logger.Error("sign-in failed: cannot start a session", "app", a.Name, "plugin", a.Plugin, "request_id", rid, "error", err)
	a.record(r, store.SignIn{Subject: res.Identity.Subject, Result: "failed", Reason: err.Error()}, reasonSessionError)
	errorpage.Write(w, r, errorpage.Page{Status: http.StatusForbidden, Title: "Cannot sign you in",
		Text: "Your identity was confirmed, but Gatehouse cannot start a session with it. Tell your IT team.", RequestID: rid})
	return session.Session{}, err
}

// unavailable answers when the plug-in cannot: fail closed.
func (a *App) unavailable(w http.ResponseWriter, r *http.Request, rid string, err error) {
	a.Gate.Logger.Error("sign-in unavailable: the plug-in failed", "app", a.Name, "plugin", a.Plugin, "request_id", rid, "error", err)
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	errorpage.Write(w, r, errorpage.Page{Status: http.StatusServiceUnavailable, Title: "Sign-in unavailable",
		Text: "Signing in to this app is not possible right now. Try again in a minute.", RequestID: rid})
}
