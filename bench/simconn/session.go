package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// session is one simulated tunnel: what a connector's session does on the
// control stream, without the request relay.
type session struct {
	id   string
	n    int
	addr string
	tls  *tls.Config
	sim  *sim

	acked    atomic.Int64 // configs acknowledged
	markedAt atomic.Int64 // Unix ns of the ready for the first config holding marker; 0: none yet

	mu     sync.Mutex
	marker string
}

// arm starts watching for a config that holds app name.
func (s *session) arm(name string) {
	s.mu.Lock()
	s.marker = name
	s.markedAt.Store(0)
	s.mu.Unlock()
}

// start dials the gateway and sends hello; the session then runs on its
// own until the process ends. A session that breaks is counted and not
// redialled: the benchmark wants to see it.
func (s *session) start(ctx context.Context) error {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("dialing %s: %w", s.addr, err)
	}
	conn := tunnel.Client(raw, s.tls)
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = conn.HandshakeContext(hctx)
	cancel()
	if err != nil {
		raw.Close()
		return fmt.Errorf("TLS with %s: %w", s.addr, err)
	}
	mux, err := yamux.Client(tunnel.NewBatchConn(conn), tunnel.MuxConfig(quiet))
	if err != nil {
		conn.Close()
		return err
	}
	control, err := mux.OpenStream()
	if err != nil {
		mux.Close()
		return fmt.Errorf("opening the control stream: %w", err)
	}
	var wmu sync.Mutex
	send := func(m tunnel.Message) error {
		wmu.Lock()
		defer wmu.Unlock()
		return tunnel.WriteFrame(control, m)
	}
	if err := send(tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "bench-simconn", Hostname: s.id, Session: s.n}}); err != nil {
		mux.Close()
		return fmt.Errorf("sending hello: %w", err)
	}
	go refuseStreams(mux)
	go func() {
		err := s.control(ctx, control, send)
		mux.Close()
		s.sim.lastErr.Store(fmt.Sprintf("connector %s session %d: %v", s.id, s.n, err))
		s.sim.failed.Add(1)
	}()
	return nil
}

// refuseStreams closes every request stream the gateway opens: the
// benchmark sends no request.
func refuseStreams(mux *yamux.Session) {
	for {
		st, err := mux.AcceptStream()
		if err != nil {
			return
		}
		st.Close()
	}
}

// control reads configs and answers each with ready, as a connector does
// once it has applied one, and sends heartbeats at the config's interval.
func (s *session) control(ctx context.Context, control net.Conn, send func(tunnel.Message) error) error {
	beat := make(chan time.Duration, 1)
	go heartbeats(ctx, beat, send)
	for {
		var m tunnel.Message
		if err := tunnel.ReadFrame(control, &m); err != nil {
			return fmt.Errorf("control stream: %w", err)
		}
		switch {
		case m.Type == tunnel.MsgError && m.Error != nil:
			return fmt.Errorf("gateway: %s", m.Error.Message)
		case m.Type == tunnel.MsgConfig && m.Config != nil:
			ready := tunnel.Ready{ConfigVersion: m.Config.Version, SignOn: &tunnel.SignOnReport{Plugins: []tunnel.PluginInfo{}}}
			if err := send(tunnel.Message{Type: tunnel.MsgReady, Ready: &ready}); err != nil {
				return err
			}
			s.acked.Add(1)
			s.noteConfig(m.Config, time.Now())
			d := time.Duration(m.Config.HeartbeatMillis) * time.Millisecond
			if d <= 0 {
				d = 10 * time.Second
			}
			select {
			case beat <- d:
			default:
			}
		}
	}
}

// noteConfig records the ready for a config that holds the armed marker.
func (s *session) noteConfig(c *tunnel.Config, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.marker == "" || s.markedAt.Load() != 0 {
		return
	}
	for _, a := range c.Apps {
		if a.Name == s.marker {
			s.markedAt.Store(at.UnixNano())
			return
		}
	}
}

func heartbeats(ctx context.Context, beat <-chan time.Duration, send func(tunnel.Message) error) {
	t := time.NewTicker(<-beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-beat:
			t.Reset(d)
		case <-t.C:
			if send(tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &tunnel.Heartbeat{}}) != nil {
				return
			}
		}
	}
}
