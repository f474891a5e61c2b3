// Package tunnelserver is the gateway's tunnel listener: connectors dial it over
// TLS. It redeems enrollment tokens, accepts mutually authenticated yamux
// sessions, runs each session's control stream (hello, config, ready,
// heartbeats), attaches ready sessions to the registry and measures each
// one's round-trip time at heartbeat pace (rtt.go). Each ready
// carries the connector's sign-on report: which apps' sign-on plug-ins it
// runs (the registry routes by it) and why it refused others (kept in the
// store for 'gatehouse connectors', see SignOnStatus). SetNodes
// (nodes.go) tells every connector the gateway nodes to keep sessions to.
package tunnelserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/enroll"
	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// handshakeTimeout bounds the TLS handshake and the first control messages.
const handshakeTimeout = 10 * time.Second

// Hub accepts connector connections. Fields are set before Serve.
type Hub struct {
	Logger    *slog.Logger
	Store     store.Store
	Registry  *registry.Registry
	Authority *enroll.Authority
	Clock     registry.Clock
	// TLS has the tunnel server certificate and the connector CA as ClientCAs.
	TLS *tls.Config
	// Config returns the current connector config for a group.
	Config func(group string) *tunnel.Config
	// PlainTLS puts the tunnel's TLS straight on the socket, without the
	// heldconn fast path (tunnel.Server) under it.
	PlainTLS bool
	// FastPaths are the gateway's fast paths; the tunnel uses the yamux
	// one (tunnel.MuxConfigFor). The zero Set has every one on.
	FastPaths fastpath.Set
	// Reports takes the connectors' own metrics from their heartbeats
	// (reports.go); nil: dropped.
	Reports func(connector, group string, m *tunnel.ConnectorMetrics)
	// UpdateStatus takes the connectors' reports on their updates
	// (updates.go), for the rollout; nil: logged only.
	UpdateStatus func(connector, group string, st tunnel.UpdateStatus)

	mu       sync.Mutex
	sessions map[*session]struct{}
	signOns  map[string][]byte // the sign-on report last recorded, by connector
	nodes    []tunnel.NodeInfo // sent to every session (nodes.go)
}

// ServerTLS returns the tunnel listener's TLS config: TLS 1.3 only, client
// certificates verified against the connector CA when given (enrollment
// has none).
func ServerTLS(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    clientCAs,
		NextProtos:   []string{tunnel.ProtoTunnel, tunnel.ProtoEnroll},
	}
}

// Serve accepts connections on ln until ctx is done, then closes every
// session.
func (h *Hub) Serve(ctx context.Context, ln net.Listener) error {
	go func() { <-ctx.Done(); ln.Close() }()
	go h.watchRemovals(ctx)
	var wg sync.WaitGroup
	defer func() {
		h.closeAll()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("tunnel listener: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.handle(ctx, c)
		}()
	}
}

func (h *Hub) handle(ctx context.Context, raw net.Conn) {
	if tc, ok := raw.(interface{ SetKeepAlive(bool) error }); ok { // TCP
		_ = tc.SetKeepAlive(true)
	}
	serverTLS := tunnel.Server
	if h.PlainTLS {
		serverTLS = tls.Server
	}
	conn := serverTLS(raw, h.TLS)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err := conn.HandshakeContext(hctx)
	cancel()
	log := h.Logger.With("remote", raw.RemoteAddr().String())
	if err != nil {
		log.Warn("tunnel handshake failed", "error", err)
		raw.Close()
		return
	}
	state := conn.ConnectionState()
	switch state.NegotiatedProtocol {
	case tunnel.ProtoEnroll:
		h.enroll(ctx, conn, log)
	case tunnel.ProtoTunnel:
		if len(state.VerifiedChains) == 0 {
			log.Warn("tunnel refused: no client certificate (enroll the connector first)")
			conn.Close()
			return
		}
		h.serveSession(ctx, conn, state.PeerCertificates[0].Subject.CommonName,
			state.PeerCertificates[0].SerialNumber.Text(16), log)
	default:
		log.Warn("tunnel refused: unknown protocol", "alpn", state.NegotiatedProtocol)
		conn.Close()
	}
}

func (h *Hub) enroll(ctx context.Context, conn *tls.Conn, log *slog.Logger) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	var req tunnel.EnrollRequest
	if err := tunnel.ReadFrame(conn, &req); err != nil {
		log.Warn("enrollment: bad request", "error", err)
		return
	}
	resp, err := h.Authority.Enroll(ctx, req, conn.RemoteAddr().String())
	var refusal *enroll.Refusal
	switch {
	case errors.As(err, &refusal):
		log.Warn("enrollment refused", "token_id", req.TokenID, "reason", refusal.Msg)
		resp = tunnel.EnrollResponse{Error: refusal.Msg}
	case err != nil:
		log.Error("enrollment failed", "token_id", req.TokenID, "error", err)
		resp = tunnel.EnrollResponse{Error: "the gateway could not complete enrollment; its log has the details"}
	default:
		log.Info("connector enrolled", "connector", resp.ConnectorID, "group", resp.Group,
			"hostname", req.Hostname, "token_id", req.TokenID)
	}
	if err := tunnel.WriteFrame(conn, resp); err != nil {
		log.Warn("enrollment: writing response", "error", err)
	}
}

// PushConfig sends every live session its group's current config.
func (h *Hub) PushConfig() {
	h.mu.Lock()
	ss := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		ss = append(ss, s)
	}
	h.mu.Unlock()
	for _, s := range ss {
		s.sendConfig(h.Config(s.group))
	}
}

func (h *Hub) track(s *session, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions == nil {
		h.sessions = map[*session]struct{}{}
	}
	if on {
		h.sessions[s] = struct{}{}
	} else {
		delete(h.sessions, s)
	}
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions {
		s.mux.Close()
	}
}

// muxServer starts a yamux server over a batching TLS connection.
func muxServer(conn net.Conn, log *slog.Logger, fp fastpath.Set) (*yamux.Session, error) {
	return yamux.Server(tunnel.NewBatchConn(conn), tunnel.MuxConfigFor(log, fp))
}
