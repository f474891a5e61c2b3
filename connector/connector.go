// Package connector is the on-premises side of Gatehouse. It dials out to
// every gateway address over TLS 1.3, with the certificate it got at
// enrollment, and keeps Options.Sessions yamux sessions open to each,
// reconnecting after a failure with backoff.Reconnect (250 ms to 30 s,
// with jitter). The gateway sends the app list over each session's
// control stream; the disk keeps only what enrollment gave (State: the
// connector's key and certificate, the pinned gateway CA and envelope
// key, the gateway addresses), never an app's config. A gateway of several
// nodes lists them on the control stream (tunnel.MsgNodes): the connector
// keeps its sessions to every listed node and saves the list (pool.go).
//
// Every other stream is opened by the gateway and carries one request at
// a time (a stream whose request had no body may carry the next). The
// connector checks the request's identity envelope for an app with
// sign-in, runs the app's sign-on plug-in if it has one, relays the
// request to the backend and the answer back on the same stream.
//
// The connector process listens on no port; its sign-on plug-ins run as
// child processes: the built-in ones of its own binary, and the
// executables its operator pinned by path and SHA-256 in its own catalog
// (LoadConfig), which the gateway's config can name but never choose. With
// every ready it tells the gateway its catalog and, per app, whether it
// runs the app's sign-on or why not; the gateway sends an app's requests
// only to connectors that run its sign-on. Connector.Drain stops it in order:
// every gateway is asked to send no new requests, and those in flight
// finish first (RATIONALE.md: "Why does the connector wait for the
// gateway's answer before it drains?").
package connector

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/fastpath/rawsock"
	"github.com/gatehouse/gatehouse/pluginhost"
)

// Options configure a connector.
type Options struct {
	// Sessions is the number of tunnels per gateway address (default 2):
	// more than one lets two cores encrypt in parallel.
	Sessions int
	Logger   *slog.Logger
	// AccessLog writes the access lines (accesslog.go); nil: Logger.
	AccessLog *slog.Logger
	Version   string
	// Dial opens the TCP connection to a gateway; tests wrap it to add
	// latency. Default: net.Dialer with a 10 s timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Plugins starts the apps' sign-on plug-ins; its Executable must serve
	// "plugin serve NAME" for the built-in plug-ins.
	Plugins pluginhost.Host
	// Catalog is the sign-on plug-ins the connector may run (LoadConfig);
	// nil means the built-in ones only.
	Catalog *Catalog
	// DrainTimeout bounds a drain (see Connector.Drain); default 30 s.
	DrainTimeout time.Duration
	// Clock times reconnects and the drain; nil means the system clock.
	Clock clock.Waiter
	// FastPaths are the fast paths that run (fastpath.FromEnv); the zero
	// Set has all on.
	FastPaths fastpath.Set
	// Updater applies the gateway's signed updates (updates.go); nil
	// refuses them.
	Updater Updater
	// Trial runs a new release on trial: its hello says so, it answers
	// the gateway's probe, and Run returns nil once the gateway sends
	// tunnel.MsgTrialPassed.
	Trial bool
}

// Connector serves an enrolled state.
type Connector struct {
	state      *State
	opts       Options
	log        *slog.Logger
	hostname   string
	transports transports
	envelopes  envelopes

	draining  chan struct{} // closed by Drain
	drainOnce sync.Once
	inflight  atomic.Int64         // request streams open, across sessions
	metrics   *metrics             // its own, sent with heartbeats (metrics.go)
	access    *slog.Logger         // the access lines (accesslog.go)
	pool      atomic.Pointer[pool] // set by Run (pool.go)
}

// New returns a connector for an enrolled state.
func New(state *State, opts Options) *Connector {
	if opts.Sessions <= 0 {
		opts.Sessions = 2
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = defaultDrainTimeout
	}
	opts.Clock = clock.Or(opts.Clock)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}
		opts.Dial = d.DialContext
	}
	if opts.Catalog == nil {
		opts.Catalog = NewCatalog()
	}
	m := newMetrics()
	if opts.Plugins.Observer == nil {
		opts.Plugins.Observer = m // plug-in restarts
	}
	h, _ := os.Hostname()
	log := opts.Logger.With("connector", state.ConnectorID, "group", state.Group)
	log.Info("sign-on plug-ins", "catalog", opts.Catalog.names())
	for _, err := range opts.Catalog.check() {
		log.Error("sign-on plug-in unusable", "error", err)
	}
	return &Connector{state: state, opts: opts, hostname: h, log: log,
		transports: transports{plugins: opts.Plugins, catalog: opts.Catalog, log: log, fast: opts.FastPaths},
		envelopes:  envelopes{key: state.EnvelopeKey},
		draining:   make(chan struct{}), metrics: m, access: accessLogger(opts, state)}
}

func (c *Connector) dial(ctx context.Context, addr string) (net.Conn, error) {
	if !c.opts.FastPaths.On(fastpath.RawSock) {
		return c.opts.Dial(ctx, "tcp", addr)
	}
	return rawsock.Dialer(c.opts.Dial)(ctx, "tcp", addr)
}
