package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/internal/wsstream"
	"github.com/gatehouse/gatehouse/tunnel"
)

// A TCP app's connections. The client (`gatehouse connect`) opens a
// WebSocket at reserved.TCP on the app's host, subprotocol
// reserved.TCPProtocol; its binary messages carry the TCP stream's
// bytes, and a text "eof" (internal/wsstream) half-closes the client's
// direction: the stream gets a yamux FIN, the connector CloseWrites the
// backend, and the backend's answer still flows back. A client close
// without "eof" ends the connection. The upgrade request passes the app's Guard as any request does
// (a session cookie or an Authorization: Bearer credential): without a
// valid session the client gets the Guard's 401 (a sign-in redirect
// becomes a 401 too) and no stream is opened. Then one tunnel stream to a
// connector of the group carries the tunnel header with the identity
// envelope and the raw bytes both ways; the connector dials the backend.
// Every TCPRoute.Recheck the Guard checks the session and the access
// policy again, and a failed check closes the connection.

// TCPRoute marks a route as a TCP app's.
type TCPRoute struct {
	// Recheck is how often an open connection's session and access are
	// checked again (apps[].tcp.recheck).
	Recheck time.Duration
}

// A Rechecker checks an open connection's admission again (signin.App);
// nil means it may go on.
type Rechecker interface {
	Recheck(r *http.Request, rid string, adm signin.Admission) error
}

// tcpReadLimit bounds one WebSocket message from the client; its bytes are
// streamed, never held whole.
const tcpReadLimit = 1 << 20

// tcpBufSize is the copy buffer of each direction of a connection.
const tcpBufSize = 32 << 10

var tcpBufs = sync.Pool{New: func() any { b := make([]byte, tcpBufSize); return &b }}

// Why a TCP connection ended, as its access line says.
const (
	endClient   = "client_closed"
	endBackend  = "backend_closed"
	endRevoked  = "revoked"
	endExpired  = "expired"
	endPolicy   = "policy"
	endCheck    = "check_failed"
	endShutdown = "shutdown"
)

// The pages of a TCP app's host.
var (
	pageTCPOnly = errorpage.Page{Status: http.StatusNotFound, Title: "This is a TCP app",
		Text: "This host publishes a TCP app (SSH, RDP, a database), not web pages. Connect with the Gatehouse client: gatehouse connect https://HOST --listen 127.0.0.1:PORT (or --stdio as an SSH ProxyCommand)."}
	pageTCPUpgrade = errorpage.Page{Status: http.StatusUpgradeRequired, Title: "WebSocket required",
		Text: "Connections to a TCP app are WebSocket upgrades with subprotocol " + reserved.TCPProtocol + "; use gatehouse connect."}
	pageTCPNoCheck = errorpage.Page{Status: http.StatusInternalServerError, Title: "TCP app misconfigured",
		Text: "This TCP app's sign-in cannot check open connections again, so Gatehouse does not open any. Tell your IT team."}
)

// serveTCP serves a request to a TCP app's host: the connection endpoint,
// and a page saying how to connect on every other path.
func (h *Handler) serveTCP(w http.ResponseWriter, r *http.Request, route *Route, version uint64, rid string) {
	if r.URL.Path != reserved.TCP {
		pg := pageTCPOnly
		pg.Text, pg.RequestID = strings.Replace(pg.Text, "HOST", httphead.HostName(r.Host), 1), rid
		errorpage.Write(w, r, pg)
		return
	}
	stripSpoofable(r.Header)
	rc, ok := route.Guard.(Rechecker)
	if route.Guard == nil || !ok {
		h.refuse(w, r, rid, pageTCPNoCheck, "tcp: refused, the app's guard cannot recheck", "app", route.App)
		return
	}
	adm, ok := route.Guard.Admit(&noRedirect{ResponseWriter: w}, r, rid)
	if !ok {
		return // answered: 401, 403, 503; nothing reached a connector
	}
	if !wantsTCP(r) {
		h.refuse(w, r, rid, pageTCPUpgrade, "tcp: refused, not a "+reserved.TCPProtocol+" WebSocket upgrade", "app", route.App)
		return
	}
	ri := &routeInfo{route: route, version: version, requestID: rid, envelope: adm.Envelope}
	stream, conn, release, err := h.tr.dial(r.Context(), route, nil, false)
	if err != nil {
		h.fail(w, r, ri, err)
		return
	}
	defer release()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{reserved.TCPProtocol},
		CompressionMode: websocket.CompressionDisabled})
	if err != nil { // Accept answered the client
		abort(stream)
		h.logger.Info("tcp: WebSocket handshake failed", "request_id", rid, "app", route.App, "error", err)
		return
	}
	ws.SetReadLimit(tcpReadLimit)
	c := &tcpConn{h: h, r: r, route: route, rid: rid, adm: adm, rc: rc, version: version, connector: conn, stream: stream, start: time.Now()}
	c.run(ws)
}

// wantsTCP reports whether r is a WebSocket upgrade that offers the
// TCP subprotocol.
func wantsTCP(r *http.Request) bool {
	if !httphead.HasToken(r.Header["Connection"], "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == reserved.TCPProtocol {
				return true
			}
		}
	}
	return false
}

// noRedirect turns a sign-in redirect into a 401: a client that opens a
// connection cannot follow one to an identity provider (it signs in with
// `gatehouse connect`'s browser flow, or sends a token).
type noRedirect struct{ http.ResponseWriter }

func (n *noRedirect) WriteHeader(status int) {
	if status >= 300 && status < 400 {
		h := n.ResponseWriter.Header()
		h.Del("Location")
		h.Del("Set-Cookie")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		n.ResponseWriter.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(n.ResponseWriter, "Sign-in required: this TCP app needs a session; run gatehouse connect, which signs you in, or send Authorization: Bearer TOKEN.\n")
		n.ResponseWriter = discardBody{n.ResponseWriter}
		return
	}
	n.ResponseWriter.WriteHeader(status)
}

// discardBody drops the body of an answer that was replaced.
type discardBody struct{ http.ResponseWriter }

func (discardBody) Write(p []byte) (int, error) { return len(p), nil }
func (discardBody) WriteHeader(int)             {}

// tcpConn is one open TCP connection of an app.
type tcpConn struct {
	h         *Handler
	r         *http.Request
	route     *Route
	rid       string
	adm       signin.Admission
	rc        Rechecker
	version   uint64 // the config version it was routed with
	connector string
	stream    net.Conn
	start     time.Time

	in, out int64 // bytes from the client, to the client

	once   sync.Once
	reason string
}

// end records why the connection ends (the first reason wins).
func (c *tcpConn) end(reason string) { c.once.Do(func() { c.reason = reason }) }

// run writes the tunnel header, copies both ways until one side ends or
// a recheck fails, and logs the connection's access line.
func (c *tcpConn) run(ws *websocket.Conn) {
	ctx, cancel := context.WithCancel(c.r.Context())
	defer cancel()
	nc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	defer func() {
		abort(c.stream)
		_ = nc.Close()
		c.log()
	}()
	hdr := tunnel.AppendRequestHeader(nil, tunnel.RequestHeader{App: c.route.App, RequestID: c.rid,
		ConfigVersion: c.version, Envelope: c.adm.Envelope})
	if _, err := c.stream.Write(hdr); err != nil {
		c.end(endBackend)
		_ = ws.Close(websocket.StatusTryAgainLater, "the connector is gone")
		return
	}
	up := make(chan struct{})
	go func() { // client → backend
		defer close(up)
		cr := wsstream.NewReader(ctx, ws)
		n, _ := copyBuf(c.stream, cr)
		c.in = n
		if cr.HalfClosed() { // the client's "eof": a FIN, the backend may still answer
			_ = c.stream.Close()
			return
		}
		c.end(endClient) // the client is gone: so is the connection
		abort(c.stream)
	}()
	down := make(chan struct{})
	go func() { // backend → client
		defer close(down)
		n, _ := copyBuf(nc, c.stream)
		c.out = n
		c.end(endBackend)
		_ = ws.Close(websocket.StatusNormalClosure, "the backend closed the connection")
	}()
	t := time.NewTicker(c.route.TCP.Recheck)
	defer t.Stop()
	for {
		select {
		case <-down:
			abort(c.stream)
			<-up
			return
		case <-ctx.Done():
			c.end(endShutdown)
			abort(c.stream)
			<-down
			<-up
			return
		case <-t.C:
			if reason := c.recheck(); reason != "" {
				c.end(reason)
				_ = ws.Close(websocket.StatusPolicyViolation, "access ended: "+reason)
				abort(c.stream)
				<-down
				<-up
				return
			}
		}
	}
}

// recheck checks the connection's admission again; "" means it goes on.
func (c *tcpConn) recheck() string {
	err := c.rc.Recheck(c.r, c.rid, c.adm)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, signin.ErrRevoked):
		return endRevoked
	case errors.Is(err, signin.ErrExpired):
		return endExpired
	case errors.Is(err, signin.ErrDenied):
		return endPolicy
	}
	return endCheck
}

// copyBuf copies src to dst with a pooled fixed-size buffer: a connection
// holds at most two buffers however much it carries.
func copyBuf(dst io.Writer, src io.Reader) (int64, error) {
	b := tcpBufs.Get().(*[]byte)
	defer tcpBufs.Put(b)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *b)
}

// log writes the connection's access line (message "access", with what a
// web request's line has, plus why it ended).
func (c *tcpConn) log() {
	if c.route.AccessLog == nil {
		return
	}
	ip := c.r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	c.route.AccessLog.Logger.LogAttrs(context.Background(), slog.LevelInfo, "access",
		slog.String("request_id", c.rid), slog.String("app", c.route.App),
		slog.String("host", hostOnly(c.r.Host)), slog.String("method", "TCP"),
		slog.String("path", reserved.TCP), slog.Int("status", http.StatusSwitchingProtocols),
		slog.Int64("bytes_in", c.in), slog.Int64("bytes_out", c.out),
		slog.Duration("duration", time.Since(c.start)), slog.String("user", c.adm.Identity.Subject),
		slog.String("connector", c.connector), slog.String("client_ip", ip), slog.String("end", c.reason))
}

// tcpRoute returns the TCP app of host (a TCP app has its host to
// itself), or nil.
func (t *Table) tcpRoute(host string) *Route {
	if rs := t.hosts[host]; len(rs) == 1 && rs[0].TCP != nil {
		return &rs[0]
	}
	return nil
}
