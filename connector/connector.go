// Package connector is the on-premises side of Gatehouse. It dials out to
// the gateway over TLS, keeps yamux sessions open (several per gateway
// address, reconnecting with backoff and jitter), and relays each request
// stream to the internal app's backend. It never listens on any port.
package connector

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/plugin"
	"github.com/gatehouse/gatehouse/internal/rawsock"
)

// Options configure a connector.
type Options struct {
	// Sessions is the number of tunnels per gateway address (default 2):
	// more than one lets two cores encrypt in parallel.
	Sessions int
	Logger   *slog.Logger
	Version  string
	// Dial opens the TCP connection to a gateway; tests wrap it to add
	// latency. Default: net.Dialer with a 10 s timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Plugins starts the apps' sign-on plug-ins; its Executable must serve
	// "plugin serve NAME" for the built-in plug-ins.
	Plugins plugin.Host
}

// Connector serves an enrolled state.
type Connector struct {
	state      *State
	opts       Options
	log        *slog.Logger
	hostname   string
	transports transports
	envelopes  envelopes
}

// New returns a connector for an enrolled state.
func New(state *State, opts Options) *Connector {
	if opts.Sessions <= 0 {
		opts.Sessions = 2
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}
		opts.Dial = d.DialContext
	}
	h, _ := os.Hostname()
	return &Connector{state: state, opts: opts, hostname: h,
		log:        opts.Logger.With("connector", state.ConnectorID, "group", state.Group),
		transports: transports{plugins: opts.Plugins},
		envelopes:  envelopes{key: state.EnvelopeKey}}
}

func (c *Connector) dial(ctx context.Context, addr string) (net.Conn, error) {
	return rawsock.Dialer(c.opts.Dial)(ctx, "tcp", addr)
}

// Run keeps the sessions up until ctx is done or the gateway says this
// connector is gone for good (then the error says what to do).
func (c *Connector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, addr := range c.state.Gateways {
		for n := range c.opts.Sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.supervise(ctx, addr, n); err != nil {
					cancel(err)
				}
			}()
		}
	}
	wg.Wait()
	c.transports.closeAll()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	c.log.Info("connector stopped")
	return nil
}

// Backoff between reconnects: exponential with jitter, reset after a
// session that stayed up.
const (
	backoffMin = 250 * time.Millisecond
	backoffMax = 30 * time.Second
	stableFor  = 30 * time.Second
)

func (c *Connector) supervise(ctx context.Context, addr string, n int) error {
	log := c.log.With("gateway", addr, "session", n)
	backoff := backoffMin
	for ctx.Err() == nil {
		s := &session{c: c, addr: addr, n: n, log: log}
		start := time.Now()
		err := s.run(ctx, func() { log.Info("tunnel ready") })
		if ctx.Err() != nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			log.Error("connector stopped", "error", err)
			return err
		}
		if time.Since(start) > stableFor {
			backoff = backoffMin
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		log.Warn("tunnel down; reconnecting", "error", err, "retry_in", wait.Round(time.Millisecond).String())
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		backoff = min(backoff*2, backoffMax)
	}
	return nil
}
