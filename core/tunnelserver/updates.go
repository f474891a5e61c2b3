package tunnelserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/tunnel"
)

// releaseWriteTimeout bounds sending one release binary to a connector.
const releaseWriteTimeout = 5 * time.Minute

// probeTimeout bounds the probe of a trial session.
const probeTimeout = 15 * time.Second

// acceptStreams serves the streams the connector opens, one at a time
// (so one session holds at most one binary in memory): release downloads.
// Any other stream closes the session: a stream nobody reads would hold
// its receive window in the gateway's memory. It returns when the session
// ends.
func (s *session) acceptStreams(ctx context.Context) {
	for {
		st, err := s.mux.AcceptStream()
		if err != nil {
			return
		}
		_ = st.SetReadDeadline(time.Now().Add(handshakeTimeout))
		var req tunnel.ReleaseRequest
		if err := tunnel.ReadFrame(st, &req); err != nil || req.Type != tunnel.ReleaseStreamType {
			st.Close()
			s.log.Warn("tunnel refused: the connector opened a stream that is not a release download; only its control stream and release downloads are its to open (closing the session)")
			s.mux.Close()
			return
		}
		s.serveRelease(ctx, st, req)
	}
}

// serveRelease answers one release download: the size, then the binary.
func (s *session) serveRelease(ctx context.Context, st net.Conn, req tunnel.ReleaseRequest) {
	defer st.Close()
	_ = st.SetWriteDeadline(time.Now().Add(releaseWriteTimeout))
	log := s.log.With("version", req.Version, "os", req.OS, "arch", req.Arch)
	_, bin, err := releases.Get(ctx, s.store, req.Version, req.OS, req.Arch)
	if err != nil {
		msg := fmt.Sprintf("the gateway cannot serve release %s for %s/%s: %v", req.Version, req.OS, req.Arch, err)
		if errors.Is(err, store.ErrNotFound) {
			msg = fmt.Sprintf("the gateway's store has no release %s for %s/%s", req.Version, req.OS, req.Arch)
		}
		log.Warn("release download refused", "error", err)
		_ = tunnel.WriteFrame(st, tunnel.ReleaseResponse{Error: msg})
		return
	}
	if err := tunnel.WriteFrame(st, tunnel.ReleaseResponse{Size: int64(len(bin))}); err == nil {
		_, err = st.Write(bin)
		if err != nil {
			log.Warn("release download failed", "error", err)
			return
		}
	}
	log.Info("release downloaded by connector", "size", len(bin))
}

// trialReady probes a trial session once it holds a config: a request
// stream for tunnel.ProbeApp with GET /, answered 204 by the connector
// itself. It passes with MsgTrialPassed (the trial process exits 0); a
// failed probe ends the session with an error (the trial fails).
func (h *Hub) trialReady(s *session, configVersion uint64) {
	if !s.probed.CompareAndSwap(false, true) {
		return
	}
	go func() {
		if err := probe(s, configVersion); err != nil {
			s.log.Warn("trial probe failed", "error", err)
			s.refuse("the trial of version "+s.hello.Version+" failed the gateway's probe: "+err.Error(), false)
			return
		}
		s.log.Info("trial probe passed")
		if err := s.send(tunnel.Message{Type: tunnel.MsgTrialPassed}); err != nil {
			s.log.Warn("telling the trial it passed", "error", err)
		}
	}()
}

func probe(s *session, configVersion uint64) error {
	st, err := s.mux.OpenStream()
	if err != nil {
		return fmt.Errorf("opening the probe stream: %w", err)
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(probeTimeout))
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	b := tunnel.AppendRequestHeader(nil, tunnel.RequestHeader{App: tunnel.ProbeApp,
		RequestID: "probe-" + hex.EncodeToString(id), ConfigVersion: configVersion})
	b = append(b, "GET / HTTP/1.1\r\nHost: gatehouse-probe\r\nContent-Length: 0\r\n\r\n"...)
	if _, err := st.Write(b); err != nil {
		return fmt.Errorf("sending the probe: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(st), nil)
	if err != nil {
		return fmt.Errorf("reading the probe's answer: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("the probe got %s, want 204 No Content", resp.Status)
	}
	return nil
}

// updateStatus passes a connector's report on its update to the rollout.
func (h *Hub) updateStatus(s *session, st *tunnel.UpdateStatus) {
	if st == nil {
		return
	}
	s.log.Info("connector update status", "phase", st.Phase, "version", st.Version, "error", st.Error)
	if h.UpdateStatus != nil && !s.hello.Trial {
		h.UpdateStatus(s.id, s.group, *st)
	}
}

// LiveSession is one connector session on this node, as Live lists it.
type LiveSession struct {
	Connector, Group string
	// Version, OS and Arch are what the connector's hello said.
	Version, OS, Arch string
	// Ready: attached, and not draining. A trial session never is.
	Ready, Trial bool
}

// Live lists this node's connector sessions.
func (h *Hub) Live() []LiveSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]LiveSession, 0, len(h.sessions))
	for s := range h.sessions {
		out = append(out, LiveSession{Connector: s.id, Group: s.group, Version: s.hello.Version,
			OS: s.hello.OS, Arch: s.hello.Arch, Ready: s.ready.Load(), Trial: s.hello.Trial})
	}
	return out
}

// ErrNoSession means the connector has no ready session on this node.
var ErrNoSession = errors.New("the connector has no ready session on this gateway node")

// SendUpdate sends u to one ready session of connector id.
func (h *Hub) SendUpdate(id string, u tunnel.Update) error {
	h.mu.Lock()
	var target *session
	for s := range h.sessions {
		if s.id == id && s.ready.Load() && !s.hello.Trial {
			target = s
			break
		}
	}
	h.mu.Unlock()
	if target == nil {
		return ErrNoSession
	}
	return target.send(tunnel.Message{Type: tunnel.MsgUpdate, Update: &u})
}
