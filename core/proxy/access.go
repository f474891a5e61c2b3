package proxy

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/accesslog"
)

// AccessLog writes an app's access log: one line per request, when it
// ends (for an upgraded connection, when that closes), at INFO with the
// message "access". Route.AccessLog, nil for none.
type AccessLog struct {
	Logger *slog.Logger
	// Query keeps the query string in the path (log.access_query);
	// without it the path ends before "?".
	Query bool
}

// The access line's keys, encoded once.
var (
	keyRequestId = accesslog.NewKey("request_id")
	keyApp       = accesslog.NewKey("app")
	keyHost      = accesslog.NewKey("host")
	keyMethod    = accesslog.NewKey("method")
	keyPath      = accesslog.NewKey("path")
	keyStatus    = accesslog.NewKey("status")
	keyBytesIn   = accesslog.NewKey("bytes_in")
	keyBytesOut  = accesslog.NewKey("bytes_out")
	keyDuration  = accesslog.NewKey("duration")
	keyUser      = accesslog.NewKey("user")
	keyConnector = accesslog.NewKey("connector")
	keyClientIp  = accesslog.NewKey("client_ip")
)

// accessRequest is what the access line says about the request, taken
// when it was routed: strings the request already holds, no copies.
type accessRequest struct {
	host, path, query, remote string
	subject                   string // the signed-in user; "" for passthrough
	connector                 string // the connector that carried it last; "" if none
}

func (ar *accessRequest) take(r *http.Request) {
	ar.host, ar.path, ar.remote = r.Host, r.URL.Path, r.RemoteAddr
	ar.query = r.URL.RawQuery
}

// write logs the request's line: straight into a buffer when the logger's
// handler is an accesslog.Handler (as the gateway's is), else one slog
// record, its attributes built without boxing into interfaces. Both write
// the same bytes.
func (l *AccessLog) write(o *observed, status int, in int64, now time.Time, total time.Duration) {
	ctx := context.Background()
	h := l.Logger.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	ar := &o.access
	query := ""
	if l.Query {
		query = ar.query
	}
	ip := ar.remote
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	if fh, ok := h.(*accesslog.Handler); ok { // the fast path: no Record, no boxing
		ln := fh.Begin(now, slog.LevelInfo, "access")
		ln.Str(keyRequestId, o.rid)
		ln.Str(keyApp, o.app)
		ln.Str(keyHost, hostOnly(ar.host))
		ln.Str(keyMethod, o.method)
		ln.Path(keyPath, ar.path, query) // path?query without building it
		ln.Int(keyStatus, int64(status))
		ln.Int(keyBytesIn, in)
		ln.Int(keyBytesOut, o.out)
		ln.Dur(keyDuration, total)
		ln.Str(keyUser, ar.subject)
		ln.Str(keyConnector, ar.connector)
		ln.Str(keyClientIp, ip)
		_ = ln.End()
		return
	}
	path := ar.path
	if query != "" {
		path += "?" + query
	}
	// The record goes straight to the handler: Logger.LogAttrs would
	// also walk the stack for a source location nobody prints.
	r := slog.NewRecord(now, slog.LevelInfo, "access", 0)
	r.AddAttrs(
		slog.String("request_id", o.rid),
		slog.String("app", o.app),
		slog.String("host", hostOnly(ar.host)),
		slog.String("method", o.method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Int64("bytes_in", in),
		slog.Int64("bytes_out", o.out),
		slog.Duration("duration", total),
		slog.String("user", ar.subject),
		slog.String("connector", ar.connector),
		slog.String("client_ip", ip),
	)
	_ = h.Handle(ctx, r)
}

// hostOnly drops a port from a Host header.
func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i]
	}
	return h
}
