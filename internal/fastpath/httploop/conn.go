package httploop

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Connection states, for Shutdown.
const (
	stateNew    = iota // handshake, or no request yet
	stateActive        // a request is being read or served
	stateIdle          // waiting for the next request
)

// headMax is the largest request head the fast path reads; a larger one
// goes to net/http, which allows up to the server's MaxHeaderBytes.
const headMax = 8 << 10

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, headMax) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// conn is one public connection on the fast path.
type conn struct {
	s        *Server
	raw      net.Conn
	tc       *tls.Conn
	ctx      context.Context
	remote   string
	accepted time.Time
	state    atomic.Int32
	cs       *tls.ConnectionState
	br       *bufio.Reader
	bw       *bufio.Writer

	// The watch: a read that runs while a long request is served.
	mu       sync.Mutex
	timer    *time.Timer
	serving  bool               // a handler runs (the watch may start)
	watching chan struct{}      // non-nil: a watch runs; closed when it ends
	cancel   context.CancelFunc // the request's
	aborted  bool               // the watch is being stopped
	gone     bool               // the watch saw the client leave
	hasByte  bool               // the watch read a byte of the next request
	byteBuf  [1]byte
}

func (s *Server) newConn(base context.Context, raw net.Conn) *conn {
	c := &conn{s: s, raw: raw, remote: raw.RemoteAddr().String(), accepted: time.Now()}
	c.tc = tls.Server(raw, s.srv.TLSConfig)
	c.ctx = context.WithValue(base, http.LocalAddrContextKey, raw.LocalAddr())
	if cc := s.srv.ConnContext; cc != nil {
		c.ctx = cc(c.ctx, c.tc)
	}
	return c
}

func (c *conn) setState(st int32, hook http.ConnState) {
	c.state.Store(st)
	if h := c.s.srv.ConnState; h != nil {
		h(c.tc, hook)
	}
}

// serve runs the handshake, then requests, until the connection closes or
// is handed over.
func (c *conn) serve() {
	c.s.track(c, true)
	defer c.s.track(c, false)
	c.setState(stateNew, http.StateNew)
	handedOver := false
	defer func() {
		if err := recover(); err != nil && err != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.logf("http: panic serving %v: %v\n%s", c.remote, err, buf)
		}
		if c.br != nil {
			c.br.Reset(nil)
			readers.Put(c.br)
			c.bw.Reset(nil)
			writers.Put(c.bw)
		}
		if !handedOver {
			c.tc.Close()
			c.setState(stateNew, http.StateClosed)
		}
	}()
	if !c.handshake() {
		return
	}
	if p := c.cs.NegotiatedProtocol; p != "" && p != "http/1.1" {
		handedOver = true
		c.handOver(nil)
		return
	}
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(connReader{c})
	c.bw = writers.Get().(*bufio.Writer)
	c.bw.Reset(c.tc)
	for first := true; ; first = false {
		n, err := c.readHead(first)
		if errors.Is(err, bufio.ErrBufferFull) {
			all, _ := c.br.Peek(c.br.Buffered())
			handedOver = true
			c.handOver(c.unread(all))
			return
		}
		if err != nil {
			return // EOF, timeout, reset: closed quietly, as net/http does
		}
		// The head is whole in the buffer, so ReadRequest only moves
		// the read position: all stays valid.
		all, _ := c.br.Peek(c.br.Buffered())
		req, ok := fastRequest(c.br, n)
		if !ok {
			handedOver = true
			c.handOver(c.unread(all))
			return
		}
		if !c.serveRequest(req) || c.s.closing.Load() {
			c.closeWrite()
			return
		}
		c.setState(stateIdle, http.StateIdle)
	}
}

// closeWrite ends a connection the server chose to close after a
// response: it says so to TLS and TCP and waits a little before the
// close, so that data the client still sends does not turn into a reset
// that destroys the response before the client read it (as net/http).
func (c *conn) closeWrite() {
	if c.tc.CloseWrite() != nil {
		return
	}
	if cw, ok := c.raw.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		time.Sleep(500 * time.Millisecond)
	}
}

// handshake runs the TLS handshake within the server's header timeout,
// logging a failure as net/http does.
func (c *conn) handshake() bool {
	if d := c.s.srv.ReadHeaderTimeout; d > 0 {
		c.tc.SetDeadline(time.Now().Add(d))
	}
	if err := c.tc.HandshakeContext(c.ctx); err != nil {
		reason := err.Error()
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			reason = "client sent an HTTP request to an HTTPS server"
		}
		c.s.logf("http: TLS handshake error from %s: %v", c.remote, reason)
		return false
	}
	c.tc.SetWriteDeadline(time.Time{})
	cs := c.tc.ConnectionState()
	c.cs = &cs
	return true
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// unread copies what the fast path read and will not use: the buffered
// bytes from the current head on, then a byte the watch read.
func (c *conn) unread(buffered []byte) []byte {
	out := make([]byte, len(buffered), len(buffered)+1)
	copy(out, buffered)
	if c.hasByte {
		out = append(out, c.byteBuf[0])
	}
	return out
}

// handOver gives the connection, with what was read of it, to the
// http.Server.
func (c *conn) handOver(prefix []byte) {
	c.setState(stateActive, http.StateHijacked)
	var nc net.Conn = c.tc
	if prefix != nil {
		nc = &replayConn{Conn: c.tc, prefix: prefix, state: c.cs}
	}
	c.s.hand.give(nc)
}

// readHead waits for a whole request head in the buffer and returns its
// length; bufio.ErrBufferFull when it is larger than headMax. The first
// request has the header timeout, later ones the idle timeout until their
// first byte.
func (c *conn) readHead(first bool) (int, error) {
	srv := c.s.srv
	if c.br.Buffered() == 0 && !c.hasByte {
		d := srv.IdleTimeout
		if first || d == 0 {
			d = srv.ReadHeaderTimeout
		}
		if d > 0 {
			c.tc.SetReadDeadline(time.Now().Add(d))
		}
		if _, err := c.br.Peek(1); err != nil {
			return 0, err
		}
	}
	c.setState(stateActive, http.StateActive)
	// The first request's deadline, set before its first byte, already
	// is the header timeout: trickling bytes must not earn a second one.
	timed := first
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		if n := headEnd(buf); n > 0 {
			return n, nil
		}
		if len(buf) == c.br.Size() {
			return 0, bufio.ErrBufferFull
		}
		if !timed && srv.ReadHeaderTimeout > 0 {
			timed = true
			c.tc.SetReadDeadline(time.Now().Add(srv.ReadHeaderTimeout))
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return 0, err
		}
	}
}

// serveRequest runs the handler for req and reports whether the
// connection may carry another request.
func (c *conn) serveRequest(req *http.Request) (keep bool) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	req = req.WithContext(ctx)
	req.RemoteAddr = c.remote
	req.TLS = c.cs
	w := newResponse(c, req)
	c.watch(cancel)
	defer func() {
		c.unwatch()
		keep = keep && !c.gone
	}()
	c.s.handler.ServeHTTP(w, req)
	w.finish()
	return !w.closeAfter
}

// connReader reads the TLS connection, after a byte the watch read.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if c.hasByte && len(p) > 0 {
		c.hasByte = false
		p[0] = c.byteBuf[0]
		return 1, nil
	}
	return c.tc.Read(p)
}

// watch arms the watch for the request whose context cancel ends.
func (c *conn) watch(cancel context.CancelFunc) {
	c.mu.Lock()
	c.serving, c.cancel = true, cancel
	c.mu.Unlock()
	if c.timer == nil {
		c.timer = time.AfterFunc(watchAfter, c.startWatch)
	} else {
		c.timer.Reset(watchAfter)
	}
}

// startWatch starts reading the connection while the handler runs: a
// client that closes it cancels the request; a byte of a pipelined
// request is kept for later.
func (c *conn) startWatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.serving || c.watching != nil || c.hasByte || c.br.Buffered() > 0 {
		return // over already, or the next request is here
	}
	c.tc.SetReadDeadline(time.Time{}) // the idle deadline no longer applies
	done := make(chan struct{})
	c.watching = done
	cancel := c.cancel
	go func() {
		defer close(done)
		n, err := c.tc.Read(c.byteBuf[:])
		c.mu.Lock()
		defer c.mu.Unlock()
		if n == 1 {
			c.hasByte = true
		}
		var ne net.Error
		if err != nil && !(c.aborted && errors.As(err, &ne) && ne.Timeout()) {
			c.gone = true
			cancel()
		}
	}()
}

// unwatch stops the watch once the handler has returned.
func (c *conn) unwatch() {
	c.timer.Stop()
	c.mu.Lock()
	c.serving = false
	done := c.watching
	if done != nil {
		c.aborted = true
		c.tc.SetReadDeadline(aLongTimeAgo)
	}
	c.mu.Unlock()
	if done == nil {
		return
	}
	<-done
	c.mu.Lock()
	c.watching, c.aborted = nil, false
	c.mu.Unlock()
	c.tc.SetReadDeadline(time.Time{})
}

var aLongTimeAgo = time.Unix(1, 0)
