// Package gateway assembles one Gatehouse gateway node: the public HTTPS
// listener (proxy, with per-app HSTS, certificates from acme in tls.mode
// acme), the optional plain-HTTP listener (ACME HTTP-01 and a redirect to
// HTTPS), the tunnel listener (hub), the connector registry and the store,
// all driven by an immutable config snapshot that Apply swaps atomically.
package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/acme"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/enroll"
	"github.com/gatehouse/gatehouse/core/front"
	"github.com/gatehouse/gatehouse/core/pki"
	"github.com/gatehouse/gatehouse/core/plugin"
	"github.com/gatehouse/gatehouse/core/proxy"
	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/secrets"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/tunnelserver"
	"github.com/gatehouse/gatehouse/core/wasm"
	"github.com/gatehouse/gatehouse/internal/heldconn"
	"github.com/gatehouse/gatehouse/internal/rawsock"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// Options are a gateway's dependencies.
type Options struct {
	Store   store.Store
	Logger  *slog.Logger
	Clock   registry.Clock // nil: the real clock
	Version string
	// Plugins starts the apps' Authenticator plug-ins.
	Plugins plugin.Host
}

// Gateway is one gateway node.
type Gateway struct {
	opts     Options
	log      *slog.Logger
	snap     atomic.Pointer[snapshot]
	versions atomic.Uint64
	reg      *registry.Registry
	hub      *tunnelserver.Hub
	ca       *pki.CA
	dev      *pki.DevIssuer
	applyMu  sync.Mutex
	acme     *acme.Manager // tls.mode acme, from Listen
	keys     *secrets.Set
	gate     *signin.Gate
	wasm     *wasm.Runtime // compiles and runs the apps' WASM filters
	jwks     []byte

	publicLn, tunnelLn, httpLn net.Listener // httpLn nil without listen.http
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// New prepares a gateway for cfg: it loads (or creates) the connector CA
// and the development CA, and builds the first snapshot. It does not
// listen yet.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Gateway, error) {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	g := &Gateway{opts: opts, log: opts.Logger}
	var err error
	if g.keys, err = secrets.Load(ctx, opts.Store, opts.Clock.Now); err != nil {
		return nil, err
	}
	sealer, err := session.NewSealer(g.keys.Cookie)
	if err != nil {
		return nil, err
	}
	g.gate = &signin.Gate{Sealer: sealer, Envelope: g.keys.Envelope, Store: opts.Store, Logger: opts.Logger, Now: opts.Clock.Now}
	if g.jwks, err = sdk.JWKS(g.keys.Assertion); err != nil {
		return nil, err
	}
	if g.wasm, err = wasm.NewRuntime(ctx, wasm.Options{CacheDir: filepath.Join(cfg.DataDir, "wasm-cache"), Logger: opts.Logger}); err != nil {
		return nil, err
	}
	s, err := g.buildSnapshot(ctx, cfg, nil)
	if err != nil {
		_ = g.wasm.Close(ctx)
		return nil, err
	}
	g.snap.Store(s)
	if g.ca, err = enroll.LoadOrCreateCA(ctx, opts.Store, opts.Clock.Now()); err != nil {
		s.auths.closeUnused(nil, 0)
		return nil, err
	}
	if cfg.TLS.Mode == "self-signed" {
		if g.dev, err = pki.OpenDevIssuer(filepath.Join(cfg.DataDir, "dev-tls"), time.Now()); err != nil {
			return nil, err
		}
	}
	g.reg = registry.New(opts.Clock, cfg.Tunnel.InactiveAfter.D())
	tunnelCert, err := g.ca.IssueServer([]string{"gatehouse-tunnel"}, 365*24*time.Hour, time.Now())
	if err != nil {
		s.auths.closeUnused(nil, 0)
		return nil, err
	}
	g.hub = &tunnelserver.Hub{
		Logger:   opts.Logger,
		Store:    opts.Store,
		Registry: g.reg,
		Clock:    opts.Clock,
		TLS:      tunnelserver.ServerTLS(tunnelCert, g.ca.Pool()),
		Config:   func(group string) *tunnel.Config { return g.snap.Load().connectorConfig(group) },
		Authority: &enroll.Authority{
			Store: opts.Store, CA: g.ca, Now: opts.Clock.Now,
			GroupExists: func(name string) bool {
				_, ok := g.snap.Load().connectors[name]
				return ok
			},
			EnvelopeKey: g.keys.EnvelopePublic(),
		},
	}
	return g, nil
}

// Listen binds the public, tunnel and (with listen.http) HTTP listeners,
// and in tls.mode acme prepares certificate management for them.
func (g *Gateway) Listen() error {
	cfg := g.snap.Load().cfg
	var err error
	if g.publicLn, err = net.Listen("tcp", cfg.Listen.Public); err != nil {
		return fmt.Errorf("listen.public %s: %w", cfg.Listen.Public, err)
	}
	if g.tunnelLn, err = net.Listen("tcp", cfg.Listen.Tunnel); err != nil {
		g.publicLn.Close()
		return fmt.Errorf("listen.tunnel %s: %w", cfg.Listen.Tunnel, err)
	}
	if cfg.Listen.HTTP != "" {
		if g.httpLn, err = net.Listen("tcp", cfg.Listen.HTTP); err != nil {
			g.publicLn.Close()
			g.tunnelLn.Close()
			return fmt.Errorf("listen.http %s: %w", cfg.Listen.HTTP, err)
		}
	}
	if cfg.TLS.Mode == "acme" {
		if g.acme, err = acme.New(acme.Options{
			ACME: cfg.TLS.ACME, PublicAddr: g.PublicAddr(), HTTPAddr: g.HTTPAddr(),
			Store: g.opts.Store, Logger: g.log,
			Published: func(host string) bool { return g.snap.Load().published(host) },
		}); err != nil {
			g.closeListeners()
			return fmt.Errorf("tls.mode acme: %w", err)
		}
	}
	return nil
}

func (g *Gateway) closeListeners() {
	for _, ln := range []net.Listener{g.publicLn, g.tunnelLn, g.httpLn} {
		if ln != nil {
			ln.Close()
		}
	}
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

// Serve runs until ctx is done, then shuts down: the public listener stops
// accepting and in-flight requests get up to 10 s to finish.
func (g *Gateway) Serve(ctx context.Context) error {
	if g.publicLn == nil {
		if err := g.Listen(); err != nil {
			return err
		}
	}
	if g.acme != nil {
		defer g.acme.Stop()
	}
	handler := proxy.NewHandler(func() *proxy.Table { return g.snap.Load().table }, g.reg, g.log)
	srv := proxy.Server(withHSTS(handler, func(host string) int64 { return g.snap.Load().hstsMaxAge(host) }), g.log)
	srv.TLSConfig = g.publicTLS()
	public := front.New(srv)

	errc := make(chan error, 4)
	var httpSrv *http.Server
	if g.httpLn != nil {
		var challenge func(http.Handler) http.Handler
		if g.acme != nil {
			challenge = g.acme.HTTPChallengeHandler
		}
		httpSrv = &http.Server{
			Handler:           httpHandler(g.PublicAddr(), func(host string) bool { return g.snap.Load().published(host) }, challenge),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		}
		go func() {
			if err := httpSrv.Serve(g.httpLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http listener: %w", err)
			}
		}()
	}
	hctx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	go func() { errc <- g.hub.Serve(hctx, rawsock.Listener(g.tunnelLn)) }()
	go func() {
		if err := public.Serve(heldconn.Listener(rawsock.Listener(g.publicLn))); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("public listener: %w", err)
		}
	}()
	go g.sweepLoop(hctx)
	g.log.Info("gateway serving", "public", g.PublicAddr(), "tunnel", g.TunnelAddr(), "http", g.HTTPAddr(),
		"tls_mode", g.snap.Load().cfg.TLS.Mode, "apps", len(g.snap.Load().cfg.Apps))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g.log.Info("gateway stopping: draining requests")
	if httpSrv != nil {
		_ = httpSrv.Shutdown(sctx)
	}
	_ = public.Shutdown(sctx)
	stopHub()
	g.snap.Load().auths.closeUnused(nil, 0)
	g.snap.Load().chains.closeUnused(nil)
	g.log.Info("gateway stopped")
	return err
}

func (g *Gateway) publicTLS() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if g.acme != nil {
		protos = append(protos, "acme-tls/1")
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: protos, GetCertificate: g.certificate}
}

// certificate picks the certificate for a handshake: an app's own
// cert_file first, then what tls.mode says (ACME, files, development CA).
func (g *Gateway) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := g.snap.Load()
	host := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if c := s.appCerts[host]; c != nil && !slices.Contains(hello.SupportedProtos, "acme-tls/1") {
		return c, nil
	}
	switch {
	case g.acme != nil:
		return g.acme.GetCertificate(hello)
	case s.cert != nil:
		return s.cert, nil
	case g.dev != nil:
		return g.dev.GetCertificate(hello)
	}
	return nil, errors.New("no certificate configured")
}

// Apply swaps in a new config. Listener addresses and the TLS mode need a
// restart; everything else takes effect for the next request, and
// connectors get their new app config at once.
func (g *Gateway) Apply(cfg *config.Config) error {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	if old := g.snap.Load().cfg; cfg.Listen != old.Listen || cfg.TLS.Mode != old.TLS.Mode || !sameACME(cfg.TLS.ACME, old.TLS.ACME) ||
		cfg.Store != old.Store || cfg.DataDir != old.DataDir {
		return errors.New("listen, tls.mode, tls.acme, store and data_dir changes need a restart; the running config keeps serving")
	}
	old := g.snap.Load()
	s, err := g.buildSnapshot(context.Background(), cfg, old)
	if err != nil {
		return err
	}
	g.snap.Store(s)
	old.auths.closeUnused(s.auths, authGrace)
	old.chains.closeUnused(s.chains)
	g.reg.SetInactiveAfter(cfg.Tunnel.InactiveAfter.D())
	g.hub.PushConfig()
	g.log.Info("config applied", "config_version", s.version, "apps", len(cfg.Apps))
	return nil
}

// authGrace is how long a replaced Authenticator keeps serving calls that
// started before a reload.
const authGrace = 30 * time.Second

// sameACME reports whether two tls.acme sections configure the same CA and account.
func sameACME(a, b config.ACME) bool {
	return a.Directory == b.Directory && a.Email == b.Email && bytes.Equal(a.CARootsPEM, b.CARootsPEM) &&
		slices.Equal(a.Challenges, b.Challenges)
}

func (g *Gateway) sweepLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(g.snap.Load().sweepEvery()):
			g.Sweep(ctx)
		}
	}
}

// Sweep marks silent connectors inactive and removes connectors inactive
// for longer than tunnel.remove_after (their certificates are refused from
// then on). Tests call it after moving an injected clock.
func (g *Gateway) Sweep(ctx context.Context) {
	for _, id := range g.reg.Sweep() {
		g.log.Warn("connector inactive: no heartbeat", "connector", id)
	}
	cfg := g.snap.Load().cfg
	cutoff := g.opts.Clock.Now().Add(-cfg.Tunnel.RemoveAfter.D())
	removed, err := g.opts.Store.RemoveConnectorsSeenBefore(ctx, cutoff)
	if err != nil {
		g.log.Error("removing stale connectors", "error", err)
	}
	for _, id := range removed {
		g.log.Warn("connector removed: inactive too long", "connector", id, "remove_after", cfg.Tunnel.RemoveAfter.D().String())
		g.reg.Evict(id)
	}
	// Expired tokens stay a week, so that using one says "expired" rather
	// than "not recognised".
	now := g.opts.Clock.Now()
	if _, err := g.opts.Store.DeleteExpiredTokens(ctx, now.Add(-tokenGrace)); err != nil {
		g.log.Error("deleting expired tokens", "error", err)
	}
	// Locks (single-use sign-in states) are kept an hour past expiry, so
	// clock skew between gateway nodes cannot free one early.
	if _, err := g.opts.Store.DeleteExpiredLocks(ctx, now.Add(-time.Hour)); err != nil {
		g.log.Error("deleting expired locks", "error", err)
	}
	// Sign-outs matter until the session would have expired (plus skew).
	if _, err := g.opts.Store.DeleteExpiredSessionRevocations(ctx, now.Add(-time.Hour)); err != nil {
		g.log.Error("deleting expired sign-outs", "error", err)
	}
	if n, err := g.opts.Store.DeleteSignInsBefore(ctx, now.Add(-signInKeep)); err != nil {
		g.log.Error("trimming the sign-in log", "error", err)
	} else if n > 0 {
		g.log.Info("sign-in log trimmed", "deleted", n, "older_than", now.Add(-signInKeep).Format(time.RFC3339))
	}
}

// tokenGrace is how long an expired token is kept.
const tokenGrace = 7 * 24 * time.Hour

// signInKeep is how long the sign-in log keeps a record.
const signInKeep = 90 * 24 * time.Hour

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
	if _, ok := g.snap.Load().connectors[group]; !ok {
		return "", fmt.Errorf("connector group %q is not in the config", group)
	}
	return enroll.CreateToken(ctx, g.opts.Store, g.ca, group, ttl, g.Advertise(), g.opts.Clock.Now())
}
