// Package reserved owns Gatehouse's own URLs: the path space /.gatehouse/
// on every published host, which never reaches a backend. It is the one
// place that spells them: the functions below build them (for redirects,
// pages and identity providers), and Mux routes them to the handlers that
// serve them:
//
//	/.gatehouse/jwks.json               public keys of signed assertions
//	/.gatehouse/auth/APP/start          a browser's sign-in begins here
//	/.gatehouse/auth/APP/callback       where an identity provider returns
//	/.gatehouse/auth/APP/signout        ends the session with APP
//	/.gatehouse/auth/APP/signedout      the "Signed out" page (the IdP returns here)
//	/.gatehouse/auth/APP/credentials    the password vault's page
//	/.gatehouse/auth/APP/handoff        a sign-in vouched for by the portal
//	/.gatehouse/sso                     the portal's handoff to an app host
//	/.gatehouse/saml/APP/metadata       APP's SAML IdP metadata (core/samlidp)
//	/.gatehouse/saml/APP/sso            its SingleSignOnService (SP-initiated)
//	/.gatehouse/saml/APP/launch         its IdP-initiated sign-in (portal links)
//	/.gatehouse/tcp                     a TCP app's connections (WebSocket)
//	/.gatehouse/cli/login               gatehouse connect's browser sign-in
//	/.gatehouse/cli/token               where gatehouse connect trades its code
//	/.gatehouse/cli/device              gatehouse connect --device's sign-in
//
// Which spellings of a path count as reserved (%2e, case, runs of "/") is
// package target's decision; this package sees paths already normalised.
package reserved

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/internal/httphead"
)

// Prefix is the reserved path space.
const Prefix = "/.gatehouse/"

// JWKS is the path of the public keys of signed assertions.
const JWKS = Prefix + "jwks.json"

// The paths of gatehouse connect's sign-in, on the app's own host (the
// one app there that has them: see Mux).
const (
	CLILogin = Prefix + "cli/login"
	CLIToken = Prefix + "cli/token"
	// CLIDevice starts a device-code sign-in (POST) and is the page
	// where the user approves it (GET ?user_code=).
	CLIDevice = Prefix + "cli/device"
)

// TCP is the path on a TCP app's host where `gatehouse connect` opens a
// connection: a WebSocket (subprotocol TCPProtocol) whose binary messages
// carry the TCP stream's bytes. The proxy serves it (core/proxy/tcp.go).
const TCP = Prefix + "tcp"

// TCPProtocol is the WebSocket subprotocol of TCP.
const TCPProtocol = "gatehouse-tcp"

// The actions under /.gatehouse/auth/APP/.
const (
	actionStart       = "start"
	actionCallback    = "callback"
	actionSignOut     = "signout"
	actionSignedOut   = "signedout"
	actionCredentials = "credentials"
	actionHandoff     = "handoff"
)

// SSO is the path on the portal's host where an app host sends a browser
// to be signed in through the portal's session (core/signin/handoff.go).
const SSO = Prefix + "sso"

// Handoff is the path on app's host that takes the portal's handoff.
func Handoff(app string) string { return appPath(app, actionHandoff) }

func appPath(app, action string) string { return Prefix + "auth/" + app + "/" + action }

// Start is the path where a browser's sign-in to app begins.
func Start(app string) string { return appPath(app, actionStart) }

// StartReturn is Start with the address to return to after signing in.
func StartReturn(app, ret string) string { return Start(app) + "?return=" + url.QueryEscape(ret) }

// Callback is the absolute URL where an identity provider returns to for
// app on host (a Host header, port included).
func Callback(host, app string) string { return "https://" + host + appPath(app, actionCallback) }

// SignOut is the path that ends the session with app.
func SignOut(app string) string { return appPath(app, actionSignOut) }

// SignedOut is the path of app's "Signed out" page, where an identity
// provider sends the browser back after its own sign-out.
func SignedOut(app string) string { return appPath(app, actionSignedOut) }

// SignedOutURL is SignedOut as an absolute URL for app on host (a Host
// header, port included).
func SignedOutURL(host, app string) string { return "https://" + host + SignedOut(app) }

// Credentials is the path of app's password-vault page, which sends the
// user back to ret; again says the stored credentials did not work.
func Credentials(app, ret string, again bool) string {
	p := appPath(app, actionCredentials) + "?"
	if again {
		p += "again&"
	}
	return p + "return=" + url.QueryEscape(ret)
}

// The actions under /.gatehouse/saml/APP/ (core/samlidp).
const (
	SAMLMetadataAction = "metadata"
	SAMLSSOAction      = "sso"
	SAMLLaunchAction   = "launch"
)

// SAML is the path of action of app's SAML identity provider.
func SAML(app, action string) string { return Prefix + "saml/" + app + "/" + action }

// SAMLLaunch is the path that signs the user in to app's SAML service
// provider, IdP-initiated: the link a portal shows for such an app.
func SAMLLaunch(app string) string { return SAML(app, SAMLLaunchAction) }

// Exact reports whether a normalised path is in the reserved space as
// spelled here (target.Parse tells whether it is in some spelling).
func Exact(path string) bool { return strings.HasPrefix(path, Prefix) }

// App is one app's handlers under /.gatehouse/auth/APP/; a nil handler
// answers 404. An App answers only on its own host.
type App struct {
	Host        string // lower-case, no port
	Start       http.Handler
	Callback    http.Handler
	SignOut     http.Handler
	SignedOut   http.Handler
	Credentials http.Handler // nil without the password vault
	// CLILogin, CLIToken and CLIDevice serve the paths of the same
	// names; nil: 404.
	CLILogin, CLIToken, CLIDevice http.Handler
	// SAML serves /.gatehouse/saml/APP/* (core/samlidp); nil: 404.
	SAML http.Handler
	// Handoff takes the portal's single-use handoff; nil: 404.
	Handoff http.Handler
}

// Mux routes the reserved paths of one config snapshot. Handlers find
// the request id in the response's X-Request-Id header.
type Mux struct {
	JWKS []byte         // served at /.gatehouse/jwks.json
	Apps map[string]App // apps with sign-in, by name
	// SSO serves SSO on SSOHost, the portal's host; nil: 404.
	SSO     http.Handler
	SSOHost string
	// HostKey returns the app host that serves a host name: itself, or
	// the wildcard app host that covers it (proxy.Table.HostKey); nil:
	// the name itself.
	HostKey func(host string) string
}

// appHost is the app host that serves the request's host.
func (m *Mux) appHost(r *http.Request) string {
	host := httphead.HostName(r.Host)
	if m.HostKey != nil {
		return m.HostKey(host)
	}
	return host
}

// ServeHTTP implements http.Handler.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	if r.URL.Path == JWKS && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(m.JWKS)
		return
	}
	h := m.handler(r, rest)
	if r.URL.Path == SSO && m.SSO != nil && m.SSOHost == httphead.HostName(r.Host) {
		h = m.SSO
	}
	if r.URL.Path == CLILogin || r.URL.Path == CLIToken || r.URL.Path == CLIDevice {
		h = m.cli(r)
	}
	if h != nil {
		h.ServeHTTP(w, r)
		return
	}
	NotFound(w, r, w.Header().Get("X-Request-Id"))
}

// handler finds the handler for rest, the path after Prefix.
func (m *Mux) handler(r *http.Request, rest string) http.Handler {
	if after, ok := strings.CutPrefix(rest, "saml/"); ok {
		name, _, _ := strings.Cut(after, "/")
		if a, found := m.Apps[name]; found && a.Host == httphead.HostName(r.Host) {
			return a.SAML
		}
		return nil
	}
	after, isAuth := strings.CutPrefix(rest, "auth/")
	name, action, ok := strings.Cut(after, "/")
	a, found := m.Apps[name]
	if !isAuth || !ok || !found || a.Host != m.appHost(r) {
		return nil
	}
	switch action {
	case actionStart:
		return a.Start
	case actionCallback:
		return a.Callback
	case actionSignOut:
		return a.SignOut
	case actionSignedOut:
		return a.SignedOut
	case actionCredentials:
		return a.Credentials
	case actionHandoff:
		return a.Handoff
	}
	return nil
}

// cli finds the handler of a CLI path: the app on the request's host
// that has one. Several such apps on one host would make the choice
// arbitrary, so then there is none.
func (m *Mux) cli(r *http.Request) http.Handler {
	host := m.appHost(r)
	var found http.Handler
	for _, a := range m.Apps {
		h := a.CLILogin
		switch r.URL.Path {
		case CLIToken:
			h = a.CLIToken
		case CLIDevice:
			h = a.CLIDevice
		}
		if a.Host != host || h == nil {
			continue
		}
		if found != nil {
			return nil
		}
		found = h
	}
	return found
}

// NotFound answers a reserved path that does not exist.
func NotFound(w http.ResponseWriter, r *http.Request, rid string) {
	errorpage.Write(w, r, errorpage.Page{Status: http.StatusNotFound, Title: "Not found",
		Text: "Paths under " + Prefix + " belong to Gatehouse, and this one does not exist.", RequestID: rid})
}
