package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/proxy"
	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/core/target"
	"github.com/gatehouse/gatehouse/core/vault"
	"github.com/gatehouse/gatehouse/internal/fingerprint"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// snapshot is everything derived from one config, built whole before it
// is swapped in, never changed after.
type snapshot struct {
	cfg        *config.Config
	version    uint64
	table      *proxy.Table
	connectors map[string]*tunnel.Config      // by group
	cert       *tls.Certificate               // tls.mode files
	appCerts   map[string]*tls.Certificate    // apps' own cert_file/key_file, by host
	auths      authenticators                 // running Authenticator plug-ins, by app
	signOns    map[string]fingerprint.Sum     // sign_on configs their plug-in accepted, by app
	needs      map[string]registry.SignOnNeed // what a connector must have accepted, by app with sign_on
	appSums    map[string]fingerprint.Sum     // the connector config of each app with sign_on
	chains     chains                         // loaded WASM filters, by app
	devices    *devices                       // access.require_device, by app and host (device.go)
	built      time.Time                      // when it was built, just before it was applied
}

// published reports whether an app serves host (which may get a certificate).
func (s *snapshot) published(host string) bool { return s.table.Published(host) }

// buildSnapshot derives everything from cfg, starting the Authenticator
// plug-ins that changed since prev (nil at start).
func (g *Gateway) buildSnapshot(ctx context.Context, cfg *config.Config, prev *snapshot) (*snapshot, error) {
	version := g.versions.Add(1)
	s := &snapshot{cfg: cfg, version: version, connectors: map[string]*tunnel.Config{}, built: g.opts.Clock.Now()}
	var prevAuths authenticators
	var prevSignOns map[string]fingerprint.Sum
	var prevChains chains
	if prev != nil {
		prevAuths, prevSignOns, prevChains = prev.auths, prev.signOns, prev.chains
	}
	var err error
	if s.signOns, err = checkSignOns(ctx, g.opts.Plugins, cfg, g.keys.Assertion, prevSignOns); err != nil {
		return nil, err
	}
	if s.auths, err = openAuthenticators(ctx, g.opts.Plugins, cfg, prevAuths); err != nil {
		return nil, err
	}
	if s.chains, err = loadChains(ctx, g.wasm, cfg, prevChains); err != nil {
		s.auths.unused(prevAuths).closeAll()
		return nil, err
	}
	if err = g.fillSnapshot(s); err == nil {
		err = s.signOnNeeds(prev)
	}
	if err != nil {
		s.auths.unused(prevAuths).closeAll()
		_ = s.chains.unused(prevChains).closeAll(ctx)
		return nil, err
	}
	return s, nil
}

// fillSnapshot builds routes, connector configs and certificates.
func (g *Gateway) fillSnapshot(s *snapshot) error {
	cfg, version := s.cfg, s.version
	if err := g.loadDevices(s); err != nil { // access.require_device: device.go
		return err
	}
	routes := make([]proxy.Route, 0, len(cfg.Apps))
	mux := &reserved.Mux{Apps: map[string]reserved.App{}, JWKS: g.jwks, HostKey: s.hostKey} // wildcard.go
	for _, g := range cfg.ConnectorGroups {
		s.connectors[g.Name] = &tunnel.Config{
			Version:         version,
			HeartbeatMillis: cfg.Tunnel.HeartbeatInterval.D().Milliseconds(),
			Apps:            []tunnel.AppConfig{},
		}
	}
	for i, a := range cfg.Apps {
		route := proxy.Route{App: a.Name, Group: a.Group, Host: a.Host, Prefix: a.PathPrefix, Filters: s.chains.wrap(a.Name),
			Headers: proxy.HeaderPolicy{ForwardIdentity: a.ForwardIdentityHeaders, Trailers: a.AllowTrailers},
			Paths:   target.Options{FoldCase: a.CaseInsensitivePaths, KeepEscapedSlashes: a.KeepEscapedSlashes},
			HSTS:    a.HSTS.MaxAge(), Observer: g.appObserver(a.Name), AccessLog: g.accessLog(cfg, &cfg.Apps[i])}
		var tcp string
		if a.TCP != nil { // a TCP app: core/proxy/tcp.go
			route.TCP, tcp = &proxy.TCPRoute{Recheck: a.TCP.Recheck.D()}, a.TCP.Backend
		}
		if auth := s.auths[a.Name]; auth != nil {
			app, endpoints, err := g.signIn(cfg, i, auth)
			if err != nil {
				return err
			}
			route.Guard = s.devices.wrap(a.Name, app) // access.require_device: device.go
			mux.Apps[a.Name] = endpoints
		}
		routes = append(routes, route)
		cc := s.connectors[a.Group]
		if cc == nil {
			return fmt.Errorf("app %q: connector group %q is not defined", a.Name, a.Group)
		}
		cc.Apps = append(cc.Apps, tunnel.AppConfig{
			Name:          a.Name,
			ExternalHost:  a.Host,
			PathPrefix:    a.PathPrefix,
			URL:           a.Backend.URL,
			TimeoutMillis: a.Backend.Timeout.D().Milliseconds(),
			CAPEM:         a.Backend.CA,
			PinSHA256:     a.Backend.PinSHA256,
			ServerName:    a.Backend.ServerName,
			PreserveHost:  a.Backend.PreserveHost,
			Identity:      !a.Auth.Passthrough,
			SignOn:        g.signOn(a),
			NoAccessLog:   !a.AccessLogOn(),
			TCP:           tcp,
		})
	}
	routes, err := g.portal(s, routes, mux) // the My Apps portal: portal.go
	if err != nil {
		return err
	}
	s.table = proxy.NewTable(version, routes)
	s.table.Reserved = mux
	// access.require_device: reserved paths see the device (device.go)
	s.table.Reserved = s.devices.reserved(mux, s.table.HostKey)
	s.appCerts = map[string]*tls.Certificate{}
	for _, a := range cfg.Apps {
		if a.CertFile == "" || s.appCerts[a.Host] != nil {
			continue
		}
		c, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
		if err != nil {
			return fmt.Errorf("app %q: loading cert_file/key_file: %w", a.Name, err)
		}
		s.appCerts[a.Host] = &c
	}
	if cfg.TLS.Mode == "files" {
		c, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("loading tls.cert_file/key_file: %w", err)
		}
		s.cert = &c
	}
	return nil
}

// signIn builds the sign-in of cfg.Apps[i] (whose Authenticator is auth),
// and its handlers under the reserved paths.
func (g *Gateway) signIn(cfg *config.Config, i int, auth signin.Authenticator) (*signin.App, reserved.App, error) {
	a := cfg.Apps[i]
	pol, err := policy.Compile(a.Access)
	if err != nil {
		return nil, reserved.App{}, fmt.Errorf("%s: apps[%d].%w", cfg.Path, i, err)
	}
	persistent, lifetime, sameSite := a.SessionCookie(cfg.Sessions) // apps[].cookie (signin/appcookie.go)
	app := &signin.App{Name: a.Name, Host: a.Host, Prefix: a.PathPrefix, Plugin: a.Auth.Plugin,
		Auth: auth, Lifetime: lifetime, Persistent: persistent, SameSite: signin.SameSiteMode(sameSite), Policy: pol, Gate: g.gate,
		FoldPathCase: a.CaseInsensitivePaths}
	endpoints := reserved.App{Host: a.Host, Start: http.HandlerFunc(app.Start),
		Callback: http.HandlerFunc(app.Callback), SignOut: http.HandlerFunc(app.SignOut), SignedOut: http.HandlerFunc(app.SignedOut),
		CLILogin: http.HandlerFunc(app.CLILogin), CLIToken: http.HandlerFunc(app.Token), CLIDevice: http.HandlerFunc(app.CLIDevice)}
	if endpoints.SAML, err = g.samlIdP(cfg, i, app); err != nil { // samlidp.go
		return nil, reserved.App{}, err
	}
	if a.Vault.PublicKey != "" {
		v, err := vault.New(a.Name, a.Vault.PublicKey, g.opts.Store, g.log)
		if err != nil {
			return nil, reserved.App{}, fmt.Errorf("%s: apps[%d].vault.public_key: %w", cfg.Path, i, err)
		}
		app.Vault = v
		endpoints.Credentials = v.Page(app)
	}
	return app, endpoints, nil
}

// signOn is what the connector needs to run a's Injector (nil: none).
func (g *Gateway) signOn(a config.App) *tunnel.SignOn {
	if a.SignOn.Plugin == "" {
		return nil
	}
	return &tunnel.SignOn{Plugin: a.SignOn.Plugin, Config: a.SignOn.Config.Value, Keys: []sdk.SigningKey{g.keys.Assertion}}
}

// connectorConfig returns a group's config (an empty one for a group that
// a reload removed: its connectors stay attached but serve nothing).
func (s *snapshot) connectorConfig(group string) *tunnel.Config {
	if c, ok := s.connectors[group]; ok {
		return c
	}
	return &tunnel.Config{Version: s.version, HeartbeatMillis: s.cfg.Tunnel.HeartbeatInterval.D().Milliseconds(), Apps: []tunnel.AppConfig{}}
}

// sweepEvery is how often the gateway looks for silent connectors.
func (s *snapshot) sweepEvery() time.Duration {
	return min(s.cfg.Tunnel.HeartbeatInterval.D(), 10*time.Second)
}
