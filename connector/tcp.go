package connector

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// A TCP app's stream (tunnel.AppConfig.TCP) carries, after the tunnel
// header, the raw bytes of one TCP connection both ways: the connector
// checks the identity envelope, dials the backend and copies until both
// directions end, with a half-close each way.

// tcpDialTimeout bounds the dial of a TCP app's backend.
const tcpDialTimeout = 10 * time.Second

// tcpBufSize is each direction's copy buffer: a connection holds two.
const tcpBufSize = 32 << 10

var tcpBufs = sync.Pool{New: func() any { b := make([]byte, tcpBufSize); return &b }}

// tcpStream reports whether a stream whose header is hdr is a TCP app's.
func (s *session) tcpStream(hdr tunnel.RequestHeader) bool {
	if hdr.App == tunnel.ProbeApp {
		return false
	}
	a := s.lookup(context.Background(), hdr.App, hdr.ConfigVersion, configWait)
	return a != nil && a.cfg.TCP != ""
}

// tcpServed is how one TCP connection went, for its access line.
type tcpServed struct {
	start   time.Time
	in, out int64  // bytes to the backend, from the backend
	end     string // why it ended
}

// serveTCP serves a TCP app's stream; br holds what was read after the
// header. It returns when the connection is over.
func (s *session) serveTCP(ctx context.Context, stream net.Conn, br *bufio.Reader, hdr tunnel.RequestHeader) {
	log := reqLog{s.log, &hdr}
	a := s.lookup(ctx, hdr.App, hdr.ConfigVersion, configWait)
	if a == nil || a.cfg.TCP == "" {
		return
	}
	sv := tcpServed{start: time.Now()}
	defer s.tcpAccess(a, &hdr, &sv)
	if a.cfg.Identity {
		if _, _, err := s.c.envelopes.open(hdr.Envelope, a.cfg.Name, time.Now()); err != nil {
			log.Warn("TCP connection refused: bad identity", "error", err)
			sv.end = "identity_refused"
			return
		}
	}
	d := net.Dialer{Timeout: tcpDialTimeout, KeepAlive: 30 * time.Second}
	backend, err := d.DialContext(ctx, "tcp", a.cfg.TCP)
	if err != nil {
		log.Warn("TCP backend dial failed", "backend", a.cfg.TCP, "error", err)
		sv.end = "dial_failed"
		return
	}
	defer backend.Close()
	stop := context.AfterFunc(ctx, func() { backend.Close(); stream.Close() }) // the connector stops
	defer stop()
	var once sync.Once
	end := func(why string) { once.Do(func() { sv.end = why }) }
	up := make(chan struct{})
	go func() { // gateway → backend; the gateway's FIN half-closes the backend
		defer close(up)
		sv.in, _ = copyTCP(backend, br)
		end("client_closed")
		if tc, ok := backend.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	sv.out, _ = copyTCP(stream, backend) // backend → gateway
	end("backend_closed")
	_ = stream.Close() // a FIN: the gateway then ends the connection
	backend.Close()
	<-up
	if ctx.Err() != nil {
		sv.end = "shutdown"
	}
}

// copyTCP copies with a pooled fixed-size buffer.
func copyTCP(dst io.Writer, src io.Reader) (int64, error) {
	b := tcpBufs.Get().(*[]byte)
	defer tcpBufs.Put(b)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *b)
}

// tcpAccess logs a TCP connection's access line at INFO, message "access"
// (unless the app's access_log is false).
func (s *session) tcpAccess(a *app, hdr *tunnel.RequestHeader, sv *tcpServed) {
	if a.cfg.NoAccessLog {
		return
	}
	l := s.c.access
	if l == nil {
		l = s.log
	}
	l.LogAttrs(context.Background(), slog.LevelInfo, "access",
		slog.String("request_id", hdr.RequestID), slog.String("app", hdr.App), slog.String("method", "TCP"),
		slog.String("backend", a.cfg.TCP), slog.Int64("bytes_in", sv.in), slog.Int64("bytes_out", sv.out),
		slog.Duration("duration", time.Since(sv.start)), slog.String("end", sv.end))
}
