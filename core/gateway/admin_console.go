package gateway

import (
	"context"
	"maps"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/console"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/sdk"
)

// The admin console (package console) on the admin listener: the page at
// /, and its sign-in under /.gatehouse/auth/_console/. The console signs
// operators in as an app would (the same signin.App, cookies, sign-in log
// and access policy), as the app config.ConsoleApp, over plain HTTP on
// loopback (signin.App.PlainHTTP). The JSON API and /metrics do not ask
// for sign-in: see RATIONALE.md, "Operations".

// signInsShown is how many sign-in records the console lists.
const signInsShown = 50

// withConsole is cfg's apps, plus the console's sign-in as an app named
// config.ConsoleApp when admin.console.auth is set: its Authenticator
// starts, and restarts on a reload, like an app's.
func withConsole(cfg *config.Config) []config.App {
	if !cfg.Admin.Console.On() {
		return cfg.Apps
	}
	return append(slices.Clip(cfg.Apps), config.App{Name: config.ConsoleApp, Auth: cfg.Admin.Console.Auth, Access: cfg.Admin.Console.Access})
}

// consoleSignIn is the console's sign-in built for one snapshot.
type consoleSignIn struct {
	snap *snapshot
	app  *signin.App // nil: sign-in off, or its policy does not compile
}

func (a *Admin) mountConsole(mux *http.ServeMux) {
	h := &console.Handler{Gate: a.consoleGate, View: a.consoleView, Loopback: loopbackAddr(a.ln.Addr()), Logger: a.log}
	mux.Handle("GET /{$}", h)
	mux.Handle("GET "+console.CSS, h)
	mux.HandleFunc(strings.TrimSuffix(reserved.Start(config.ConsoleApp), "start")+"{action}", a.consoleAuth)
}

// signIn returns the console's sign-in under the live config (nil
// without one), building it once per snapshot.
func (a *Admin) signIn() *signin.App {
	g := a.gw.Load()
	if g == nil {
		return nil
	}
	s := g.snap.Load()
	if c := a.console.Load(); c != nil && c.snap == s {
		return c.app
	}
	c := &consoleSignIn{snap: s}
	if auth := s.auths[config.ConsoleApp]; auth != nil {
		con := s.cfg.Admin.Console
		pol, err := policy.Compile(con.Access)
		if err != nil { // config check compiles it too; fail closed
			a.log.Error("admin console: its access policy does not compile; the console is closed", "error", err)
			pol = nil
		}
		if pol != nil {
			c.app = &signin.App{Name: config.ConsoleApp, Prefix: "/", Plugin: con.Auth.Plugin, Auth: auth,
				Lifetime: s.cfg.Sessions.Lifetime.D(), Policy: pol, Gate: g.gate, PlainHTTP: true}
		}
	}
	a.console.Store(c)
	return c.app
}

// consoleGate is who may open the console now.
func (a *Admin) consoleGate() console.Gate {
	g := a.gw.Load()
	dev := a.devConsole
	if g != nil {
		dev = g.snap.Load().cfg.Admin.Console.DevNoSignin
	}
	gate := console.Gate{DevNoSignin: dev, Start: func(ret string) string { return reserved.StartReturn(config.ConsoleApp, ret) }}
	if app := a.signIn(); app != nil {
		gate.SignIn = app
	} else if g == nil && a.consoleOn {
		gate.SignIn = notLoaded{}
	}
	return gate
}

// notLoaded stands for the console's sign-in until the gateway's state
// is loaded.
type notLoaded struct{}

func (notLoaded) User(w http.ResponseWriter, _ *http.Request, _ string) (sdk.Identity, bool) {
	http.Error(w, "the gateway's state is not loaded yet; try again in a moment", http.StatusServiceUnavailable)
	return sdk.Identity{}, false
}

// consoleAuth serves the console's sign-in endpoints: start, callback
// and signout.
func (a *Admin) consoleAuth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", console.RequestID())
	w.Header().Set("Cache-Control", "no-store")
	app := a.signIn()
	if app == nil {
		http.Error(w, "the admin console has no sign-in (admin.console.auth is not set)", http.StatusNotFound)
		return
	}
	switch action := r.PathValue("action"); {
	case action == "start" && r.Method == http.MethodGet:
		app.Start(w, r)
	case action == "callback" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		app.Callback(w, r)
	case action == "signout" && r.Method == http.MethodGet:
		app.SignOut(w, r)
	case action == "signedout":
		app.SignedOut(w, r)
	default:
		http.NotFound(w, r)
	}
}

// consoleView gathers what the console shows (nil before the state is
// loaded).
func (a *Admin) consoleView(ctx context.Context) *console.View {
	g := a.gw.Load()
	if g == nil {
		return nil
	}
	s := g.snap.Load()
	now := g.opts.Clock.Now()
	v := &console.View{Version: g.opts.Version, ConfigVersion: s.version, ConfigFile: s.cfg.Path,
		Ready: a.readyBody(a.ready.snapshot()).Status, Now: now}
	if a.signIn() != nil {
		v.SignOut = reserved.SignOut(config.ConsoleApp)
	}
	rates := a.metrics.Rates()
	for _, app := range g.apiApps() {
		v.Apps = append(v.Apps, console.App{Name: app.Name, Host: app.Host, Prefix: app.PathPrefix, Group: app.Group, Auth: app.Auth,
			SignOn: app.SignOn, Filters: app.Filters, Serving: app.Serving, Rate: rates.Series(app.Name, time.Now())})
	}
	for _, gr := range g.apiGroups() {
		var counts []string
		for _, st := range slices.Sorted(maps.Keys(gr.Connectors)) {
			counts = append(counts, st+" "+strconv.Itoa(gr.Connectors[st]))
		}
		v.Groups = append(v.Groups, console.Group{Name: gr.Name, InUse: gr.InUse, Up: gr.Up, Active: gr.Active, Connectors: strings.Join(counts, ", ")})
	}
	conns, err := g.apiConnectors(ctx)
	if err != nil {
		v.Problems = append(v.Problems, "Enrolled connectors could not be read from the store ("+err.Error()+"); only those attached here are listed.")
	}
	for _, c := range conns {
		v.Connectors = append(v.Connectors, consoleConnector(c))
	}
	v.SignIns, err = signIns(ctx, g.opts.Store)
	if err != nil {
		v.Problems = append(v.Problems, "The sign-in log could not be read from the store: "+err.Error())
	}
	v.Certs = certificates(a, s)
	return v
}

func consoleConnector(c apiConnector) console.Connector {
	out := console.Connector{ID: c.ID, Group: c.Group, Hostname: c.Hostname, Version: c.Version, Address: c.Address,
		State: c.State, Sessions: c.Sessions, StreamsInFlight: c.StreamsInFlight, RTT: time.Duration(c.RTTSeconds * float64(time.Second))}
	if c.LastSeen != nil {
		out.LastSeen = *c.LastSeen
	}
	if c.SignOn != nil {
		for _, p := range c.SignOn.Plugins {
			out.Plugins = append(out.Plugins, p.Name)
		}
		for _, r := range c.SignOn.Refused {
			out.Refused = append(out.Refused, r.App+" ("+r.Field+")")
		}
	}
	return out
}

func signIns(ctx context.Context, st store.Store) ([]console.SignIn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := st.ListSignIns(ctx, signInsShown)
	out := make([]console.SignIn, 0, len(list))
	for _, s := range list {
		out = append(out, console.SignIn{At: s.At, App: s.App, Plugin: s.Plugin, Subject: s.Subject, Result: s.Result, Reason: s.Reason, ClientIP: s.ClientIP})
	}
	return out, err
}

// certificates are the certificates served for published hosts (from the
// metrics, recorded at each handshake), and tls.cert_file's.
func certificates(a *Admin, s *snapshot) []console.Cert {
	var out []console.Cert
	for host, exp := range a.metrics.Certificates().Expiries() {
		out = append(out, console.Cert{Host: host, NotAfter: exp})
	}
	if s.cert != nil && s.cert.Leaf != nil {
		out = append(out, console.Cert{Host: "tls.cert_file (" + strings.Join(s.cert.Leaf.DNSNames, ", ") + ")", NotAfter: s.cert.Leaf.NotAfter})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NotAfter.Before(out[j].NotAfter) })
	return out
}

func loopbackAddr(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// loopbackOnly refuses requests whose Host is not a loopback name when
// the admin listener is on loopback: a web page whose name a resolver
// points at 127.0.0.1 (DNS rebinding) cannot read the API or the console.
func (a *Admin) loopbackOnly(h http.Handler) http.Handler {
	if !loopbackAddr(a.ln.Addr()) {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !console.LoopbackHost(r.Host) {
			http.Error(w, "the admin listener answers to loopback names only (127.0.0.1, [::1], localhost)", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// consoleMode says how the console is served, for the log.
func consoleMode(c config.Console) string {
	switch {
	case c.On():
		return "sign-in with " + c.Auth.Plugin
	case c.DevNoSignin:
		return "DEVELOPMENT: no sign-in (loopback only)"
	}
	return "off"
}
