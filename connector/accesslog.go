package connector

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/accesslog"
	"github.com/gatehouse/gatehouse/tunnel"
)

// served is how one request of a known app went, for the connector's
// metrics and its access-log line.
type served struct {
	start   time.Time
	status  int   // sent to the gateway; 0: the response was cut
	out     int64 // response body bytes
	errCode string
}

// The access line's keys, encoded once.
var (
	keyRequestId = accesslog.NewKey("request_id")
	keyApp       = accesslog.NewKey("app")
	keyMethod    = accesslog.NewKey("method")
	keyPath      = accesslog.NewKey("path")
	keyStatus    = accesslog.NewKey("status")
	keyBytesOut  = accesslog.NewKey("bytes_out")
	keyDuration  = accesslog.NewKey("duration")
	keyError     = accesslog.NewKey("error")
)

// finish logs a request's access line, with the gateway's request id, at
// INFO with the message "access" (unless the app's access_log is false):
// no query, header or identity. An accesslog.Handler (the connector's
// access log) gets the line without a slog.Record.
func (s *session) finish(a *app, hdr *tunnel.RequestHeader, req *http.Request, sv *served) {
	if a.cfg.NoAccessLog {
		return
	}
	ctx := context.Background()
	l := s.c.access
	if l == nil { // a Connector not made by New
		l = s.log
	}
	h := l.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// One clock read: the end's wall time is the start's plus the
	// monotonic time since.
	d := time.Since(sv.start)
	now := sv.start.Add(d)
	if fh, ok := h.(*accesslog.Handler); ok { // the fast path: no Record, no boxing
		ln := fh.Begin(now, slog.LevelInfo, "access")
		ln.Str(keyRequestId, hdr.RequestID)
		ln.Str(keyApp, hdr.App)
		ln.Str(keyMethod, req.Method)
		ln.Str(keyPath, req.URL.Path)
		ln.Int(keyStatus, int64(sv.status))
		ln.Int(keyBytesOut, sv.out)
		ln.Dur(keyDuration, d)
		ln.Str(keyError, sv.errCode)
		_ = ln.End()
		return
	}
	// Straight to the handler: Logger.LogAttrs would also walk the
	// stack for a source location nobody prints.
	r := slog.NewRecord(now, slog.LevelInfo, "access", 0)
	r.AddAttrs(
		slog.String("request_id", hdr.RequestID),
		slog.String("app", hdr.App),
		slog.String("method", req.Method),
		slog.String("path", req.URL.Path),
		slog.Int("status", sv.status),
		slog.Int64("bytes_out", sv.out),
		slog.Duration("duration", d),
		slog.String("error", sv.errCode),
	)
	_ = h.Handle(ctx, r)
}

// accessLogger is Options.AccessLog (else Logger) with the connector's
// id and group on every line.
func accessLogger(opts Options, state *State) *slog.Logger {
	l := opts.AccessLog
	if l == nil {
		l = opts.Logger
	}
	return l.With("connector", state.ConnectorID, "group", state.Group)
}
