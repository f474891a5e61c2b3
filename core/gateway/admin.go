package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/metrics"
)

// Admin is the admin listener (listen.admin), plain HTTP on loopback by
// default:
//
//	/metrics        Prometheus metrics (package metrics)
//	/healthz        200 while the process serves HTTP
//	/readyz         200 when this node can serve (degraded included), else 503; the body names what is missing
//	/api/v1/...     the read-only admin API: status, apps, connectors, groups (admin_api.go)
//	/debug/pprof/   Go's profiles, with admin.pprof only
//	/               the admin console, with admin.console (admin_console.go)
//
// It starts before the store is opened (ListenAdmin), so that /readyz
// can tell a load balancer what the node still waits for; New attaches
// the gateway once its state is loaded, and Serve says when the
// listeners are up. A nil *Admin (listen.admin off) does nothing.
type Admin struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	ln      net.Listener
	srv     *http.Server
	pprof   bool // admin.pprof of the config the admin started with (then the live config's)
	ready   readiness
	gw      atomic.Pointer[Gateway]
	node    string // names this process's store probe lock

	probeEvery time.Duration // how often the store is probed (probeEvery)

	console    atomic.Pointer[consoleSignIn] // the console's sign-in, for the live snapshot
	consoleOn  bool                          // admin.console.auth of the config the admin started with
	devConsole bool                          // admin.console.dev_no_signin of that config

	closeOnce sync.Once
	done      chan struct{} // closed by Close
	kick      chan struct{} // a store call failed: probe now
	probing   sync.WaitGroup
}

// ListenAdmin binds listen.admin and serves it. With listen.admin off it
// returns nil. When listen.admin was left out and its default address
// is taken (a second gateway on this host), it logs a warning and
// returns nil: the gateway serves without it. An address written in the
// config must bind.
func ListenAdmin(cfg *config.Config, version string, logger *slog.Logger) (*Admin, error) {
	addr := cfg.Listen.Admin
	if addr == config.AdminOff || addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if cfg.Listen.AdminDefault && errors.Is(err, syscall.EADDRINUSE) {
			// Not the error's own words: "address already in use" in the
			// log means a port of the gateway's own listeners to scripts
			// and tests that retry with others.
			logger.Warn("admin listener off: its default address is taken (another gateway on this host?); set listen.admin to another address, or to off",
				"listen.admin", addr)
			return nil, nil
		}
		return nil, fmt.Errorf("listen.admin %s: %w", addr, err)
	}
	a := &Admin{log: logger, metrics: metrics.New(version), ln: ln, pprof: cfg.Admin.Pprof,
		node: rand.Text()[:16], probeEvery: probeEvery, done: make(chan struct{}), kick: make(chan struct{}, 1),
		consoleOn: cfg.Admin.Console.On(), devConsole: cfg.Admin.Console.DevNoSignin}
	a.srv = &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := a.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin listener stopped", "error", err)
		}
	}()
	a.metrics.SetReady(false)
	logger.Info("admin listener serving", "addr", a.Addr(), "endpoints", "/metrics /healthz /readyz /api/v1/", "pprof", a.pprof,
		"console", consoleMode(cfg.Admin.Console))
	return a, nil
}

// Addr is the bound address ("" for a nil Admin).
func (a *Admin) Addr() string {
	if a == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Metrics are the gateway's metrics (nil for a nil Admin: metrics off).
func (a *Admin) Metrics() *metrics.Metrics {
	if a == nil {
		return nil
	}
	return a.metrics
}

// Close stops the listener and the store probe.
func (a *Admin) Close() error {
	if a == nil {
		return nil
	}
	var err error
	a.closeOnce.Do(func() {
		close(a.done)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err = a.srv.Shutdown(ctx)
		a.probing.Wait()
	})
	return err
}

func (a *Admin) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.serveReady)
	a.api(mux)          // admin_api.go
	a.mountConsole(mux) // admin_console.go
	for path, h := range map[string]http.HandlerFunc{"/debug/pprof/": pprof.Index, "/debug/pprof/cmdline": pprof.Cmdline,
		"/debug/pprof/profile": pprof.Profile, "/debug/pprof/symbol": pprof.Symbol, "/debug/pprof/trace": pprof.Trace} {
		mux.HandleFunc(path, a.whenPprof(h))
	}
	return a.loopbackOnly(mux)
}

// whenPprof serves h while the live config has admin.pprof (a reload
// turns it on or off), 404 otherwise.
func (a *Admin) whenPprof(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		on := a.pprof
		if g := a.gw.Load(); g != nil {
			on = g.snap.Load().cfg.Admin.Pprof
		}
		if !on {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}
}

// attach is called by New once the gateway's state is loaded from the
// store: the API and the connector metrics read g from now on, and the
// store probe starts.
func (a *Admin) attach(g *Gateway) {
	if a == nil {
		return
	}
	a.gw.Store(g)
	a.metrics.WatchConnectors(g.connectorView)
	g.reg.OnAttach(a.metrics.SessionOpened)
	a.ready.set(func(r *readiness) { r.state = true })
	a.metrics.SetReady(a.ready.snapshot().ready())
	a.probing.Add(1)
	go a.probeLoop(g.opts.Store, g.opts.Clock.Now)
}

// serving is called by Serve once the listeners serve; stopping when it
// begins to shut down (the node is then unready, so that load balancers
// stop sending to it).
func (a *Admin) serving() {
	if a != nil {
		a.ready.set(func(r *readiness) { r.listening = true })
		a.metrics.SetReady(a.ready.snapshot().ready())
	}
}

func (a *Admin) stopping() {
	if a != nil {
		a.ready.set(func(r *readiness) { r.stopping = true })
		a.metrics.SetReady(false)
	}
}
