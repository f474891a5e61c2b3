// Package leanclient is the connector's lean HTTP client, the fastpath
// LeanClient: an http.RoundTripper that carries GET, HEAD and OPTIONS
// requests without a body to a plain-http backend on pooled connections,
// from the calling goroutine. net/http.Transport runs two goroutines per
// connection and hands every request between them, which costs small
// requests a good part of the connector's CPU (bench/RESULTS.md).
// Everything else (bodies, upgrades, https) is for the caller to send
// through an http.Transport: Eligible says which requests this client
// takes.
//
// A response is read as net/http.Transport reads it, and no more
// trustingly: a connection goes back to the pool only when the response's
// end is certain, because whatever a backend sends past that end would
// become the next user's response (response.go).
package leanclient

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

// Config is what a Client needs to know.
type Config struct {
	// Addr is the backend's host:port.
	Addr string
	// Dial opens a connection to Addr.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds the wait for a response head; 0: none.
	Timeout time.Duration
	// MaxRespHead bounds the response heads (interim 1xx heads included)
	// a backend may send for one request; 0: http.Transport's default
	// (MaxResponseHeaderBytes).
	MaxRespHead int64
	// OnAbort arranges for f to run if ctx is cancelled, as
	// context.AfterFunc does, and returns the func that cancels that,
	// which reports false if f already ran or is running. It runs once
	// per request; nil: context.AfterFunc.
	OnAbort func(ctx context.Context, f func()) (stop func() bool)
}

// defaultMaxRespHead is http.Transport's bound on a response head.
const defaultMaxRespHead = 10 << 20

// Client is the lean client of one backend.
type Client struct {
	cfg         Config
	errTooLarge error // the response head is larger than cfg.MaxRespHead

	mu   sync.Mutex
	idle []*conn
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	if cfg.MaxRespHead <= 0 {
		cfg.MaxRespHead = defaultMaxRespHead
	}
	if cfg.OnAbort == nil {
		cfg.OnAbort = context.AfterFunc
	}
	return &Client{cfg: cfg, errTooLarge: fmt.Errorf("backend response head larger than %d KiB", cfg.MaxRespHead>>10)}
}

const (
	maxIdle = 512
	idleFor = 30 * time.Second
)

type conn struct {
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
	n        int64
	limit    int64 // 0: none
	tooLarge error // what a read past limit returns
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.limit > 0 {
		if c.n >= c.limit {
			return 0, c.tooLarge
		}
		p = p[:min(int64(len(p)), c.limit-c.n)]
	}
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// Eligible says whether req may take the lean client: GET, HEAD or
// OPTIONS without a body, and no upgrade.
func Eligible(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return (req.Body == nil || req.Body == http.NoBody) && !httphead.HasToken(req.Header["Connection"], "upgrade")
	}
	return false
}

// RoundTrip sends req (already addressed to the backend, and Eligible)
// and returns the response; its body must be closed. A pooled connection
// that fails before any answer byte is retried once on a new one (the
// request may be repeated).
func (l *Client) RoundTrip(req *http.Request) (*http.Response, error) {
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

func (l *Client) get(ctx context.Context) (*conn, bool, error) {
	now := time.Now()
	l.mu.Lock()
	for len(l.idle) > 0 {
		c := l.idle[len(l.idle)-1]
		l.idle = l.idle[:len(l.idle)-1]
		if now.Sub(c.since) >= idleFor {
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
	nc, err := l.cfg.Dial(dctx, "tcp", l.cfg.Addr)
	if err != nil {
		return nil, false, err
	}
	c := &conn{conn: nc}
	c.read.Conn, c.read.tooLarge = nc, l.errTooLarge
	c.br = bufio.NewReaderSize(&c.read, 32<<10)
	c.bw = bufio.NewWriterSize(nc, 8<<10)
	return c, false, nil
}

func (l *Client) put(c *conn) {
	c.since = time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.idle) >= maxIdle {
		c.conn.Close()
		return
	}
	l.idle = append(l.idle, c)
}

// CloseIdle drops the pooled connections (a config change).
func (l *Client) CloseIdle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.idle {
		c.conn.Close()
	}
	l.idle = nil
}

var errCancelled = errors.New("request cancelled")

func (l *Client) exchange(req *http.Request, c *conn) (*http.Response, error) {
	// Cancellation (the client went away) unblocks reads and writes.
	stop := l.cfg.OnAbort(req.Context(), func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
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
	if l.cfg.Timeout > 0 {
		_ = c.conn.SetReadDeadline(time.Now().Add(l.cfg.Timeout))
	}
	c.read.limit = c.read.n + l.cfg.MaxRespHead
	resp, reuse, err := readFinal(c.br, req)
	c.read.limit = 0
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && req.Context().Err() == nil {
		err = fmt.Errorf("timeout awaiting response headers (backend.timeout %s): %w", l.cfg.Timeout, err)
	}
	if err != nil {
		return fail(err)
	}
	if l.cfg.Timeout > 0 {
		_ = c.conn.SetReadDeadline(time.Time{})
	}
	resp.Body = &body{ReadCloser: resp.Body, eof: resp.Body == http.NoBody, done: func(complete bool) {
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

// body hands the connection back once, when the body is closed.
type body struct {
	io.ReadCloser
	done func(complete bool)
	eof  bool
	once sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(b.eof) })
	return err
}
