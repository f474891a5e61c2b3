package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/portal"
	"github.com/gatehouse/gatehouse/core/proxy"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/samlidp"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/internal/fingerprint"
)

// The My Apps portal (portal:) is served by the gateway itself: a route
// on the portal's host whose Guard is the page (it never reaches a
// backend), the portal's own sign-in under /.gatehouse/auth/_portal/,
// and reserved.SSO, the handoff that signs users in to the apps whose
// auth uses the portal's plug-in (core/signin/handoff.go).

// withPortal is withConsole(cfg), plus the portal's sign-in as an app
// named config.PortalApp when a portal is configured: its Authenticator
// runs like an app's.
func withPortal(cfg *config.Config) []config.App {
	apps := withConsole(cfg)
	if !cfg.Portal.On() {
		return apps
	}
	return append(slices.Clip(apps), config.App{Name: config.PortalApp, Host: cfg.Portal.Host, Auth: cfg.Portal.Auth, Access: cfg.Portal.Access})
}

// portal adds the portal of s.cfg (if any) to routes and mux, and points
// the sign-in of each app with the portal's plug-in at it.
func (g *Gateway) portal(s *snapshot, routes []proxy.Route, mux *reserved.Mux) ([]proxy.Route, error) {
	cfg := s.cfg
	pc := cfg.Portal
	if !pc.On() {
		return routes, nil
	}
	auth := s.auths[config.PortalApp]
	if auth == nil {
		return nil, fmt.Errorf("%s: portal.auth: the portal's plug-in %q is not running", cfg.Path, pc.Auth.Plugin)
	}
	pol, err := policy.Compile(pc.Access)
	if err != nil {
		return nil, fmt.Errorf("%s: portal.%w", cfg.Path, err)
	}
	in := &signin.App{Name: config.PortalApp, Host: pc.Host, Prefix: "/", Plugin: pc.Auth.Plugin, Auth: auth,
		Lifetime: cfg.Sessions.Lifetime.D(), Persistent: cfg.Sessions.Persistent, Policy: pol, Gate: g.gate}
	sso := &signin.Portal{App: in, Targets: map[string]signin.PortalTarget{}}
	page := &portal.Page{Title: pc.Title, SignIn: in, Now: g.opts.Clock.Now}
	guards := map[string]*signin.App{}
	for _, r := range routes {
		if app, ok := r.Guard.(*signin.App); ok {
			guards[r.App] = app
		}
	}
	for _, a := range cfg.Apps {
		if strings.HasPrefix(a.Host, "*.") {
			continue // a wildcard app has no one host to hand off to or link (docs/WILDCARD.md)
		}
		app := guards[a.Name]
		handoff := app != nil && sameAuth(a.Auth, pc.Auth)
		if handoff {
			app.Portal = pc.Host
			sso.Targets[a.Name] = signin.PortalTarget{Host: a.Host, Prefix: a.PathPrefix}
			ep := mux.Apps[a.Name]
			ep.Handoff = http.HandlerFunc(app.Handoff)
			mux.Apps[a.Name] = ep
		}
		if a.Portal.Hidden || a.TCP != nil {
			continue
		}
		page.Apps = append(page.Apps, portalEntry(a, app, handoff))
	}
	mux.Apps[config.PortalApp] = reserved.App{Host: pc.Host, Start: http.HandlerFunc(in.Start), Callback: http.HandlerFunc(in.Callback),
		SignOut: http.HandlerFunc(in.SignOut), SignedOut: http.HandlerFunc(in.SignedOut)}
	mux.SSO, mux.SSOHost = http.HandlerFunc(sso.SSO), pc.Host
	return append(routes, proxy.Route{App: config.PortalApp, Host: pc.Host, Prefix: "/", Guard: page}), nil
}

// portalEntry is how app a (whose sign-in is app, nil for passthrough)
// shows in the portal.
func portalEntry(a config.App, app *signin.App, handoff bool) portal.App {
	e := portal.App{Name: a.Name, Title: a.Portal.Name, Description: a.Portal.Description, Icon: a.Portal.Icon,
		Host: a.Host, Prefix: a.PathPrefix, Handoff: handoff, Device: a.Access.RequireDevice != nil}
	if e.Title == "" {
		e.Title = a.Name
	}
	if handoff {
		e.Policy = app.Policy
	}
	if a.SAMLIdP != nil { // an IdP-initiated SAML sign-in opens it (samlidp.go)
		e.Launch = samlidp.LaunchPath(a.Name)
	}
	return e
}

// sameAuth reports whether an app signs users in exactly as the portal
// does: the same plug-in with the same config, so the same identity
// provider and client. Only then may the portal vouch for its users: a
// user of another provider with the same subject is another person.
// (Where each block was written in the file does not count.)
func sameAuth(app, portal config.Auth) bool {
	a, errA := fingerprint.Of(app.Plugin, app.Passthrough, app.Config.Value)
	p, errP := fingerprint.Of(portal.Plugin, portal.Passthrough, portal.Config.Value)
	return errA == nil && errP == nil && a == p
}
