package tunnelserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// session is one connector tunnel and its control stream.
type session struct {
	id, group string
	mux       *yamux.Session
	log       *slog.Logger

	wmu sync.Mutex // serialises control writes
	// sentNodes is the node list last sent on this session (under wmu).
	sentNodes []tunnel.NodeInfo
	control   net.Conn

	touched time.Time // the last heartbeat written to the store; serveSession's only

	retireOnce sync.Once // see Hub.retire

	hello  *tunnel.Hello // set before the session is tracked
	ready  atomic.Bool   // attached to the registry (never for a trial)
	probed atomic.Bool   // a trial's probe started (updates.go)
	store  store.Store   // for release downloads
}

func (s *session) send(m tunnel.Message) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.sendLocked(m)
}

// sendLocked writes m; the caller holds wmu.
func (s *session) sendLocked(m tunnel.Message) error {
	_ = s.control.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	return tunnel.WriteFrame(s.control, m)
}

func (s *session) sendConfig(c *tunnel.Config) {
	if err := s.send(tunnel.Message{Type: tunnel.MsgConfig, Config: c}); err != nil {
		s.log.Warn("sending config to connector", "error", err)
		s.mux.Close()
	}
}

// refuse tells the connector why and closes the session.
func (s *session) refuse(msg string, fatal bool) {
	s.log.Warn("tunnel refused", "reason", msg)
	_ = s.send(tunnel.Message{Type: tunnel.MsgError, Error: &tunnel.Error{Message: msg, Fatal: fatal}})
	s.mux.Close()
}

// openControl accepts the control stream, which the connector opens
// first, and reads its hello. From then on, the connector may open only
// release downloads (acceptStreams, updates.go).
func (s *session) openControl(ctx context.Context) (*tunnel.Hello, bool) {
	actx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	control, err := s.mux.AcceptStreamWithContext(actx)
	cancel()
	if err != nil {
		s.log.Warn("tunnel: no control stream", "error", err)
		return nil, false
	}
	s.control = control
	go s.acceptStreams(ctx)
	_ = control.SetReadDeadline(time.Now().Add(handshakeTimeout))
	var hello tunnel.Message
	if err := tunnel.ReadFrame(control, &hello); err != nil || hello.Type != tunnel.MsgHello || hello.Hello == nil {
		s.log.Warn("tunnel: expected hello", "error", err, "type", hello.Type)
		return nil, false
	}
	return hello.Hello, true
}

func (h *Hub) serveSession(ctx context.Context, conn net.Conn, id, serial string, log *slog.Logger) {
	log = log.With("connector", id)
	mux, err := muxServer(conn, h.Logger, h.FastPaths)
	if err != nil {
		log.Error("starting tunnel session", "error", err)
		conn.Close()
		return
	}
	defer mux.Close()
	s := &session{id: id, mux: mux, log: log, store: h.Store}
	hello, ok := s.openControl(ctx)
	if !ok {
		return
	}
	rec, err := h.Store.GetConnector(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.refuse("this connector was removed from the gateway (inactive too long, or by an operator): enroll it again with a new token", true)
		return
	case err != nil:
		log.Error("tunnel: looking up connector", "error", err)
		s.refuse("the gateway could not look up this connector; it will be retried", false)
		return
	case rec.CertSerial != serial:
		s.refuse("this certificate was replaced by a newer enrollment: enroll again with a new token", true)
		return
	}
	s.group, s.hello = rec.Group, hello
	s.log = log.With("group", rec.Group, "session", hello.Session)
	if hello.Trial {
		s.log = s.log.With("trial", hello.Version)
	}
	remote := conn.RemoteAddr().String()
	h.track(s, true)
	defer h.track(s, false)
	s.sendConfig(h.Config(s.group))
	h.sendNodes(s) // nodes.go
	h.control(ctx, s, remote, hello)
}

// control reads the session's control stream until it ends: a ready
// attaches the session to the registry (until it ends), heartbeats keep
// it active, and a drain takes it out of the picks and is answered once no
// new request stream will be opened on it.
func (h *Hub) control(ctx context.Context, s *session, remote string, hello *tunnel.Hello) {
	var detach func()
	draining := false
	defer func() {
		s.ready.Store(false)
		if detach != nil {
			detach()
			s.log.Info("connector session closed")
		}
	}()
	for {
		// A silent connector is marked inactive by the registry's sweep;
		// a dead connection is noticed by yamux keepalives.
		_ = s.control.SetReadDeadline(time.Time{})
		var m tunnel.Message
		if err := tunnel.ReadFrame(s.control, &m); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, yamux.ErrSessionShutdown) && !errors.Is(err, net.ErrClosed) {
				s.log.Warn("tunnel: control stream failed", "error", err)
			}
			return
		}
		switch m.Type {
		case tunnel.MsgReady:
			ready := tunnel.Ready{}
			if m.Ready != nil {
				ready = *m.Ready
			}
			if hello.Trial {
				h.trialReady(s, ready.ConfigVersion) // updates.go: probe it; never attached
				continue
			}
			rep := cleanReport(ready.SignOn)
			if detach == nil && !draining {
				detach = h.Registry.Attach(s.id, s.group, s.mux)
				s.ready.Store(true)
				s.log.Info("connector session ready", "version", hello.Version)
				go h.measureRTT(s) // rtt.go; ends with the session
			}
			h.Registry.Report(s.mux, ready.ConfigVersion, rep)
			h.recordSignOn(ctx, s, hello.Version, rep)
			h.touch(ctx, s, remote, hello.Version)
		case tunnel.MsgHeartbeat:
			if hello.Trial {
				continue
			}
			if detach != nil {
				h.Registry.Beat(s.id)
			}
			h.report(s, m.Heartbeat) // reports.go
			h.touch(ctx, s, remote, hello.Version)
		case tunnel.MsgUpdateStatus:
			h.updateStatus(s, m.UpdateStatus) // updates.go
		case tunnel.MsgDrain:
			draining = true
			s.ready.Store(false)
			h.Registry.Drain(s.mux) // returns once no new stream will open
			s.log.Info("connector session draining: no new requests sent to it")
			if err := s.send(tunnel.Message{Type: tunnel.MsgDrained}); err != nil {
				s.log.Warn("answering the connector's drain", "error", err)
				return
			}
		default:
			s.log.Warn("tunnel: unexpected control message", "type", m.Type)
		}
	}
}

// touchEvery bounds the store writes of one session's heartbeats: a
// connector that sends them in a loop must not keep the store, which every
// sign-in writes to, busy for everyone else.
const touchEvery = time.Second

func (h *Hub) touch(ctx context.Context, s *session, remote, version string) {
	now := h.Clock.Now()
	if !s.touched.IsZero() && now.Sub(s.touched) < touchEvery {
		return
	}
	s.touched = now
	err := h.Store.TouchConnector(ctx, s.id, now, remote, version)
	if errors.Is(err, store.ErrNotFound) {
		go h.retire(s) // the control stream keeps being read while requests finish
	} else if err != nil {
		s.log.Warn("recording heartbeat", "error", err)
	}
}
