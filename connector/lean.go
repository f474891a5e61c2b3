package connector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// leanClient carries GET, HEAD and OPTIONS requests without a body to a
// plain-http backend on pooled connections, from the calling goroutine.
// net/http.Transport runs two goroutines per connection and hands every
// request between them, which costs small requests a good part of the
// connector's CPU (bench/RESULTS.md). Everything else (bodies, upgrades,
// https) still goes through the Transport, and so does everything when
// the fastpath.LeanClient fast path is off (apps.go).
type leanClient struct {
	addr    string
	timeout time.Duration // for the response head; 0: none
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)

	mu   sync.Mutex
	idle []*leanConn
}

const (
	leanMaxIdle = 512
	leanIdleFor = 30 * time.Second
)

type leanConn struct {
	conn  net.Conn
	read  countingConn
	br    *bufio.Reader
	bw    *bufio.Writer
	since time.Time // when it went idle
	idle  idleCheck
}

// countingConn counts what was read, to tell a stale pooled connection
// (nothing came back) from a backend that answered badly, and while limit
// is set refuses to read more than limit bytes (the response head).
type countingConn struct {
	net.Conn
	n     int64
	limit int64 // 0: none
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.limit > 0 {
		if c.n >= c.limit {
			return 0, errRespHeadTooLarge
		}
		p = p[:min(int64(len(p)), c.limit-c.n)]
	}
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// leanEligible says whether req may take the lean path.
func leanEligible(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return (req.Body == nil || req.Body == http.NoBody) && !httphead.HasToken(req.Header["Connection"], "upgrade")
	}
	return false
}

// RoundTrip sends req (already addressed to the backend) and returns the
// response; its body must be closed. A pooled connection that fails before
// any answer byte is retried once on a new one (the request may be repeated).
func (l *leanClient) RoundTrip(req *http.Request) (*http.Response, error) {
	for {
		c, reused, err := l.get(req.Context())
		if err != nil {
			return nil, err
		}
		resp, err := l.exchange(req, c)
		if err == nil {
			return resp, nil
		}
		// Only a pooled connection the backend had closed is worth
		// another try; a timeout or an answer must not repeat the request.
		var ne net.Error
		if !reused || c.read.n > 0 || req.Context().Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, err
		}
	}
}

func (l *leanClient) get(ctx context.Context) (*leanConn, bool, error) {
	now := time.Now()
	l.mu.Lock()
	for len(l.idle) > 0 {
		c := l.idle[len(l.idle)-1]
		l.idle = l.idle[:len(l.idle)-1]
		if now.Sub(c.since) >= leanIdleFor {
			c.conn.Close()
			continue
		}
		l.mu.Unlock()
		if c.idle.ok(c.conn) {
			c.read.n = 0
			return c, true, nil
		}
		c.conn.Close() // closed by the backend, or it sent unasked bytes
		l.mu.Lock()
	}
	l.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := l.dial(dctx, "tcp", l.addr)
	if err != nil {
		return nil, false, err
	}
	c := &leanConn{conn: conn}
	c.read.Conn = conn
	c.br = bufio.NewReaderSize(&c.read, 32<<10)
	c.bw = bufio.NewWriterSize(conn, 8<<10)
	return c, false, nil
}

func (l *leanClient) put(c *leanConn) {
	c.since = time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.idle) >= leanMaxIdle {
		c.conn.Close()
		return
	}
	l.idle = append(l.idle, c)
}

// closeIdle drops pooled connections (config change).
func (l *leanClient) closeIdle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.idle {
		c.conn.Close()
	}
	l.idle = nil
}

var errCancelled = errors.New("request cancelled")

func (l *leanClient) exchange(req *http.Request, c *leanConn) (*http.Response, error) {
	// Cancellation (the client went away) unblocks reads and writes.
	stop := onAbort(req.Context(), func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.conn.Close()
		if req.Context().Err() != nil {
			return nil, fmt.Errorf("%w: %v", errCancelled, err)
		}
		return nil, err
	}
	if err := writeHead(c.bw, req); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	if l.timeout > 0 {
		_ = c.conn.SetReadDeadline(time.Now().Add(l.timeout))
	}
	c.read.limit = c.read.n + maxRespHead
	resp, reuse, err := readFinal(c.br, req)
	c.read.limit = 0
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && req.Context().Err() == nil {
		err = fmt.Errorf("timeout awaiting response headers (backend.timeout %s): %w", l.timeout, err)
	}
	if err != nil {
		return fail(err)
	}
	if l.timeout > 0 {
		_ = c.conn.SetReadDeadline(time.Time{})
	}
	resp.Body = &leanBody{ReadCloser: resp.Body, eof: resp.Body == http.NoBody, done: func(complete bool) {
		// Reuse only after a complete response whose end is certain
		// (nothing read past it), if cancellation did not already touch
		// the connection and the backend keeps it open.
		if stop() && complete && reuse && !resp.Close && c.br.Buffered() == 0 {
			l.put(c)
			return
		}
		c.conn.Close()
	}}
	return resp, nil
}

// leanBody hands the connection back once, when the body is closed.
type leanBody struct {
	io.ReadCloser
	done func(complete bool)
	eof  bool
	once sync.Once
}

func (b *leanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *leanBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(b.eof) })
	return err
}

// backendAbort ends the backend call under way on a stream when the
// stream's context is cancelled: serveStream fires it, so that the lean
// client needs no context.AfterFunc per request.
type backendAbort struct {
	mu    sync.Mutex
	f     func()
	fired bool
}

type backendAbortKey struct{}

func (a *backendAbort) fire() {
	a.mu.Lock()
	f := a.f
	a.f, a.fired = nil, true
	a.mu.Unlock()
	if f != nil {
		f()
	}
}

// onAbort arranges for f to run if ctx is cancelled, like
// context.AfterFunc, and returns the func that cancels that: it reports
// false if f already ran (or is running).
func onAbort(ctx context.Context, f func()) (stop func() bool) {
	a, ok := ctx.Value(backendAbortKey{}).(*backendAbort)
	if !ok {
		return context.AfterFunc(ctx, f)
	}
	a.mu.Lock()
	if a.fired {
		a.mu.Unlock()
		f()
		return func() bool { return false }
	}
	a.f = f
	a.mu.Unlock()
	return a.stop
}

func (a *backendAbort) stop() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ran := a.fired
	a.f = nil
	return !ran
}
