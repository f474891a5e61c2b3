package connector

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/tunnel"
)

// Updater applies the signed updates the gateway sends (tunnel.MsgUpdate);
// connector/update.Updater is the one the command uses.
type Updater interface {
	// Update applies one update in the background of a session: it
	// downloads over streams that open opens on the session and reports
	// each phase with report (sent as tunnel.MsgUpdateStatus).
	Update(ctx context.Context, u tunnel.Update, open func() (net.Conn, error), report func(tunnel.UpdateStatus))
	// Ready is called when a session first becomes ready: it confirms a
	// new release and returns a status to report (a rollback), or nil.
	Ready() *tunnel.UpdateStatus
}

// ErrTrialPassed ends a trial run (Options.Trial): the gateway probed it
// and sent tunnel.MsgTrialPassed. Run then returns nil.
var ErrTrialPassed = errors.New("trial passed: the gateway probed this release")

// update starts applying an update the gateway sent on this session.
func (s *session) update(ctx context.Context, u tunnel.Update, send func(tunnel.Message) error) {
	report := func(st tunnel.UpdateStatus) {
		s.log.Info("connector update", "release", st.Version, "phase", st.Phase, "error", st.Error)
		if err := send(tunnel.Message{Type: tunnel.MsgUpdateStatus, UpdateStatus: &st}); err != nil {
			s.log.Warn("connector update: status not sent", "phase", st.Phase, "error", err)
		}
	}
	up := s.c.opts.Updater
	if up == nil || s.c.opts.Trial {
		report(tunnel.UpdateStatus{Phase: tunnel.PhaseRefused, Error: "this connector process does not take updates (a trial run, or started without an updater)"})
		return
	}
	mux := s.mux
	go up.Update(ctx, u, func() (net.Conn, error) { return mux.Open() }, report)
}

// readyUpdate tells the updater a session is ready and reports what it
// has to report (a rollback at the last start).
func (s *session) readyUpdate(send func(tunnel.Message) error) {
	if s.c.opts.Updater == nil || s.c.opts.Trial {
		return
	}
	if st := s.c.opts.Updater.Ready(); st != nil {
		s.log.Warn("connector update: reporting", "release", st.Version, "phase", st.Phase, "error", st.Error)
		_ = send(tunnel.Message{Type: tunnel.MsgUpdateStatus, UpdateStatus: st})
	}
}

// probe answers the gateway's probe (tunnel.ProbeApp) itself, without a
// backend: 204 once the session holds a config, else 503.
func (s *session) probe(bw *bufio.Writer, req *http.Request) bool {
	if s.apps.Load().apps == nil {
		return writeError(bw, http.StatusServiceUnavailable, tunnel.ErrCodeUnknownApp, "the connector has no config yet")
	}
	_, _ = bw.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
	return bw.Flush() == nil && req.Body == http.NoBody
}
