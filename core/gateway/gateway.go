// Package gateway assembles one Gatehouse gateway node: the public HTTPS
// listener (proxy, with per-app HSTS, certificates from acme in tls.mode
// acme), the optional plain-HTTP listener (ACME HTTP-01 and a redirect to
// HTTPS), the tunnel listener (hub), the connector registry and the store,
// all driven by an immutable config snapshot that Apply swaps atomically.
package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/acme"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/enroll"
	"github.com/gatehouse/gatehouse/core/pki"
	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/rollout"
	"github.com/gatehouse/gatehouse/core/secrets"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/tunnelserver"
	"github.com/gatehouse/gatehouse/core/wasm"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// Options are a gateway's dependencies.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// AccessLog writes the access lines (accesslog.go); nil: Logger.
	AccessLog *slog.Logger
	Clock     clock.Clock // nil: the real clock
	Version   string
	// Plugins starts the apps' Authenticator plug-ins.
	Plugins pluginhost.Host
	// FastPaths are the fast paths the environment allows
	// (fastpath.FromEnv); the zero Set allows all. The config's
	// fast_paths: false turns every one off whatever this says.
	FastPaths fastpath.Set
	// Admin is the admin listener (ListenAdmin): metrics, health and the
	// admin API (admin*.go). nil: none, and no metrics.
	Admin *Admin
}

// Gateway is one gateway node.
type Gateway struct {
	opts     Options
	log      *slog.Logger
	snap     atomic.Pointer[snapshot]
	versions atomic.Uint64
	reg      *registry.Registry
	hub      *tunnelserver.Hub
	rollout  *rollout.Orchestrator // rollout.go
	ca       *pki.CA
	dev      *pki.DevIssuer
	applyMu  sync.Mutex
	acme     *acme.Manager // tls.mode acme, from Listen
	keys     *secrets.Set
	gate     *signin.Gate
	wasm     *wasm.Runtime // compiles and runs the apps' WASM filters
	jwks     []byte
	cluster  *clusterNode // cluster.go

	publicLn, tunnelLn, httpLn net.Listener // httpLn nil without listen.http

	closeOnce sync.Once
	closed    bool // under applyMu: Close has begun, Apply refuses
	closeErr  error
	stopping  context.Context // done when Close begins
	stop      context.CancelFunc
	retiring  sync.WaitGroup // what reloads replaced, still closing (retire)
}

// New prepares a gateway for cfg: it loads (or creates) the connector CA
// and the development CA, and builds the first snapshot. It does not
// listen yet. When it fails, it has released what it had started.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Gateway, error) {
	g, err := start(ctx, cfg, opts)
	if err != nil {
		_ = g.Close()
		return nil, err
	}
	opts.Admin.attach(g) // the state is loaded: /readyz, the API and the store probe start
	return g, nil
}

// start does New's work; on error it returns the gateway as far as it
// got, for Close.
func start(ctx context.Context, cfg *config.Config, opts Options) (*Gateway, error) {
	if opts.Clock == nil {
		opts.Clock = clock.System
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts = opts.instrument() // metrics: admin_hooks.go
	g := &Gateway{opts: opts, log: opts.Logger}
	g.stopping, g.stop = context.WithCancel(context.Background())
	var err error
	if g.keys, err = secrets.Load(ctx, opts.Store, opts.Clock.Now); err != nil {
		return g, err
	}
	sealer, err := session.NewSealer(g.keys.Cookie)
	if err != nil {
		return g, err
	}
	g.gate = &signin.Gate{Sealer: sealer, Envelope: g.keys.Envelope, Store: opts.Store, Logger: opts.Logger, Now: opts.Clock.Now, Metrics: opts.Admin.Metrics()}
	if g.jwks, err = sdk.JWKS(g.keys.Assertion); err != nil {
		return g, err
	}
	if g.wasm, err = wasm.NewRuntime(ctx, wasm.Options{CacheDir: filepath.Join(cfg.DataDir, "wasm-cache"), Logger: opts.Logger, Observe: opts.Admin.filterObservers()}); err != nil {
		return g, err
	}
	s, err := g.buildSnapshot(ctx, cfg, nil)
	if err != nil {
		return g, err
	}
	g.snap.Store(s)
	if g.ca, err = enroll.LoadOrCreateCA(ctx, opts.Store, opts.Clock.Now()); err != nil {
		return g, err
	}
	if cfg.TLS.Mode == "self-signed" {
		if g.dev, err = pki.OpenDevIssuer(filepath.Join(cfg.DataDir, "dev-tls"), time.Now()); err != nil {
			return g, err
		}
	}
	g.reg = registry.New(opts.Clock, cfg.Tunnel.InactiveAfter.D())
	g.reg.OnStateChange(g.connectorState) // reports.go
	g.reg.SetSignOns(s.needs)
	if err := g.newHub(); err != nil {
		return g, err
	}
	return g, g.newCluster(ctx, cfg)
}

// newHub prepares the tunnel listener's server.
func (g *Gateway) newHub() error {
	opts := g.opts
	tunnelCert, err := g.ca.IssueServer([]string{"gatehouse-tunnel"}, 365*24*time.Hour, time.Now())
	if err != nil {
		return err
	}
	g.hub = &tunnelserver.Hub{
		Logger:   opts.Logger,
		Store:    opts.Store,
		Registry: g.reg,
		Clock:    opts.Clock,
		TLS:      tunnelserver.ServerTLS(tunnelCert, g.ca.Pool()),
		Config:   func(group string) *tunnel.Config { return g.snap.Load().connectorConfig(group) },
		Reports:  g.connectorReport, // reports.go
		Authority: &enroll.Authority{
			Store: opts.Store, CA: g.ca, Now: opts.Clock.Now,
			GroupExists: func(name string) bool {
				_, ok := g.snap.Load().connectors[name]
				return ok
			},
			EnvelopeKey: g.keys.EnvelopePublic(),
		},
	}
	g.newRollout() // rollout.go
	return nil
}

// HTTPAddr is the bound listen.http address ("" without one).
func (g *Gateway) HTTPAddr() string {
	if g.httpLn == nil {
		return ""
	}
	return g.httpLn.Addr().String()
}

// PublicAddr and TunnelAddr are the bound addresses (after Listen).
func (g *Gateway) PublicAddr() string { return g.publicLn.Addr().String() }
func (g *Gateway) TunnelAddr() string { return g.tunnelLn.Addr().String() }

// DevCAFile is the development CA clients must trust ("" unless self-signed).
func (g *Gateway) DevCAFile() string {
	if g.dev == nil {
		return ""
	}
	return g.dev.CAFile()
}

// Registry exposes the live connectors (for status and tests).
func (g *Gateway) Registry() *registry.Registry { return g.reg }

// Advertise returns the tunnel addresses to put in tokens: the configured
// ones, with a configured port 0 replaced by the bound port.
func (g *Gateway) Advertise() []string {
	cfg := g.snap.Load().cfg
	out := slices.Clone(cfg.Tunnel.Advertise)
	for i, a := range out {
		if a == cfg.Listen.Tunnel && g.tunnelLn != nil {
			if _, port, _ := net.SplitHostPort(a); port == "0" {
				out[i] = g.TunnelAddr()
			}
		}
	}
	return out
}

// CreateToken creates an enrollment token for group (the CLI does the same
// against the store directly).
func (g *Gateway) CreateToken(ctx context.Context, group string, ttl time.Duration) (string, error) {
	s := g.snap.Load()
	if _, ok := s.connectors[group]; !ok {
		return "", fmt.Errorf("connector group %q is not in the config", group)
	}
	return enroll.CreateToken(ctx, g.opts.Store, g.ca, group, ttl, g.Advertise(), s.cfg.Release.PublicKey, g.opts.Clock.Now())
}
