package connector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// session is one yamux tunnel to one gateway address.
type session struct {
	c    *Connector
	addr string
	n    int
	log  *slog.Logger
	stop <-chan struct{} // closed: the node left the list; drain
	mux  *yamux.Session  // set by run, for the streams the connector opens

	apps     atomic.Pointer[appTable]
	inflight atomic.Int64
	sweep    sweeper // the time limits of its streams

	drained     chan struct{} // closed when the gateway answers our drain
	drainedOnce sync.Once
	ended       chan struct{} // a request stream ended (for drain)
}

// fatalError ends the connector: retrying cannot help.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

// run dials, serves until the tunnel breaks, and returns why. up is called
// once the gateway has the session ready for traffic.
func (s *session) run(ctx context.Context, up func()) error {
	s.apps.Store(&appTable{changed: make(chan struct{})})
	s.drained, s.ended = make(chan struct{}), make(chan struct{}, 1)
	raw, err := s.c.dial(ctx, s.addr)
	if err != nil {
		return fmt.Errorf("dialing gateway %s: %w", s.addr, err)
	}
	clientTLS := tunnel.Client // TLS over a heldconn
	if !s.c.opts.FastPaths.On(fastpath.HeldConn) {
		clientTLS = tls.Client
	}
	conn := clientTLS(raw, s.c.state.tunnelTLS())
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = conn.HandshakeContext(hctx)
	cancel()
	if err != nil {
		raw.Close()
		return fmt.Errorf("TLS with gateway %s: %w", s.addr, err)
	}
	mux, err := yamux.Client(tunnel.NewBatchConn(conn), tunnel.MuxConfigFor(s.log, s.c.opts.FastPaths))
	if err != nil {
		conn.Close()
		return err
	}
	defer mux.Close()
	s.mux = mux
	go func() {
		select {
		case <-ctx.Done():
			mux.Close()
		case <-mux.CloseChan():
		}
	}()

	control, err := mux.OpenStream()
	if err != nil {
		return fmt.Errorf("opening control stream: %w", err)
	}
	var wmu sync.Mutex
	send := func(m tunnel.Message) error {
		wmu.Lock()
		defer wmu.Unlock()
		return tunnel.WriteFrame(control, m)
	}
	hello := tunnel.Hello{Version: s.c.opts.Version, Hostname: s.c.hostname, Session: s.n,
		Trial: s.c.opts.Trial, OS: runtime.GOOS, Arch: runtime.GOARCH}
	if err := send(tunnel.Message{Type: tunnel.MsgHello, Hello: &hello}); err != nil {
		return fmt.Errorf("sending hello: %w", err)
	}

	ctrlErr := make(chan error, 1)
	go func() {
		err := s.control(ctx, control, send, up)
		ctrlErr <- err
		if errors.Is(err, ErrTrialPassed) {
			mux.Close()
		}
	}()
	go func() {
		select {
		case <-s.c.draining:
		case <-s.stop:
		case <-mux.CloseChan():
			return
		}
		s.drain(ctx, mux, send)
		mux.Close()
	}()
	sctx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go s.sweep.run(sctx)
	return s.accept(ctx, mux, ctrlErr)
}

// accept serves the request streams the gateway opens until the session
// closes, then waits for them to end and returns why it closed.
func (s *session) accept(ctx context.Context, mux *yamux.Session, ctrlErr <-chan error) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		stream, err := mux.AcceptStream()
		if err != nil {
			select {
			case err := <-ctrlErr:
				return err
			case <-time.After(time.Second):
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("tunnel to %s closed: %w", s.addr, err)
		}
		wg.Add(1)
		s.inflight.Add(1)
		s.c.inflight.Add(1)
		go func() {
			defer wg.Done()
			s.serveStream(ctx, stream)
			s.inflight.Add(-1)
			s.c.inflight.Add(-1)
			select {
			case s.ended <- struct{}{}: // wakes a drain
			default:
			}
		}()
	}
}

// control reads the gateway's control messages, applies configs, and
// sends heartbeats. It returns when the control stream ends.
func (s *session) control(ctx context.Context, control net.Conn, send func(tunnel.Message) error, up func()) error {
	beat := make(chan time.Duration, 1)
	go func() {
		interval := <-beat
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case d := <-beat:
				t.Reset(d)
			case <-t.C:
				hb := tunnel.Heartbeat{InFlight: int(s.inflight.Load()), Metrics: s.c.metrics.snapshot()}
				if send(tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &hb}) != nil {
					return
				}
			}
		}
	}()
	defer control.Close()
	first := true
	for {
		var m tunnel.Message
		if err := tunnel.ReadFrame(control, &m); err != nil {
			return fmt.Errorf("control stream: %w", err)
		}
		switch {
		case m.Type == tunnel.MsgError && m.Error != nil:
			if m.Error.Fatal {
				return &fatalError{"gateway: " + m.Error.Message}
			}
			return errors.New("gateway: " + m.Error.Message)
		case m.Type == tunnel.MsgDrained:
			s.drainedOnce.Do(func() { close(s.drained) })
		case m.Type == tunnel.MsgUpdate && m.Update != nil:
			s.update(ctx, *m.Update, send) // updates.go
		case m.Type == tunnel.MsgTrialPassed && s.c.opts.Trial:
			return ErrTrialPassed
		case m.Type == tunnel.MsgNodes:
			if p := s.c.pool.Load(); p != nil {
				p.learn(m.Nodes, s.log) // pool.go
			}
		case m.Type == tunnel.MsgConfig && m.Config != nil:
			t, err := s.apply(m.Config)
			if err != nil {
				s.log.Error("config from gateway not applied", "error", err)
				continue
			}
			ready := tunnel.Ready{ConfigVersion: m.Config.Version, SignOn: s.c.signOnReport(t)}
			if err := send(tunnel.Message{Type: tunnel.MsgReady, Ready: &ready}); err != nil {
				return err
			}
			d := time.Duration(m.Config.HeartbeatMillis) * time.Millisecond
			if d <= 0 {
				d = 10 * time.Second
			}
			select {
			case beat <- d:
			default:
			}
			if first {
				first = false
				up()
				s.readyUpdate(send)
			}
		default:
			s.log.Debug("ignoring control message", "type", m.Type)
		}
	}
}

// apply builds a new app table and swaps it in.
func (s *session) apply(c *tunnel.Config) (*appTable, error) {
	t := &appTable{version: c.Version, apps: make(map[string]*app, len(c.Apps)), changed: make(chan struct{})}
	for _, ac := range c.Apps {
		a, err := s.c.transports.get(ac)
		if err != nil {
			return nil, err
		}
		t.apps[ac.Name] = a
	}
	old := s.apps.Swap(t)
	close(old.changed)
	s.log.Info("config applied", "config_version", c.Version, "apps", len(t.apps))
	return t, nil
}
