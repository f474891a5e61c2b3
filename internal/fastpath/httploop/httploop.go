// Package httploop accepts the gateway's public HTTPS connections. After
// the TLS handshake it serves HTTP/1.1 requests without a body — nearly
// all of a web app's traffic — itself, and hands everything else to an
// http.Server: HTTP/2 connections at once, and an HTTP/1.1 connection at
// its first request that is not plain (a body, an upgrade, HTTP/1.0, a
// head too large or malformed), for the rest of its life. net/http's own
// error answers (400, 431, …) therefore still come from net/http.
//
// What the fast path saves: net/http starts a goroutine per request that
// reads the connection while the handler runs, to notice a client that
// leaves, and stops it with two deadline changes. Here that watch starts
// only once a request has run for watchAfter; a shorter request goes
// without. The measurements are in bench/RESULTS.md; with the fast-path
// switch off (package fastpath) the gateway serves with http.Server alone.
package httploop

import (
	"context"
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// watchAfter is how long a request runs before its connection is watched
// for a client that leaves (which cancels the request's context).
const watchAfter = 100 * time.Millisecond

// Server serves a listener for an http.Server: its Handler, TLSConfig,
// ReadHeaderTimeout, IdleTimeout, ErrorLog, BaseContext, ConnContext and
// ConnState apply to the requests served here as they would in net/http.
type Server struct {
	srv     *http.Server
	handler http.Handler // srv.Handler as New found it
	hand    *handoff

	closing atomic.Bool
	mu      sync.Mutex
	lns     map[net.Listener]struct{}
	conns   map[*conn]struct{}
	started bool
}

// New returns a Server for srv. It wraps srv's Handler and ConnContext,
// so that requests on handed-over connections keep their TLS details.
func New(srv *http.Server) *Server {
	s := &Server{srv: srv, handler: srv.Handler, lns: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{},
		hand: &handoff{ch: make(chan net.Conn), done: make(chan struct{})}}
	if s.handler == nil {
		s.handler = http.DefaultServeMux
	}
	inner, cc := s.handler, srv.ConnContext
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc, ok := r.Context().Value(replayKey{}).(*replayConn); ok && r.TLS == nil {
			r = r.WithContext(r.Context())
			r.TLS = rc.state
		}
		inner.ServeHTTP(w, r)
	})
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if rc, ok := c.(*replayConn); ok {
			ctx = context.WithValue(ctx, replayKey{}, rc)
		}
		if cc != nil {
			ctx = cc(ctx, c)
		}
		return ctx
	}
	return s
}

type replayKey struct{}

// Serve accepts connections on ln (put under TLS here) until Shutdown or
// Close, and then returns http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	if !s.started {
		s.started = true
		go s.srv.Serve(s.hand) //nolint:errcheck // ends with Shutdown or Close
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	base := context.Background()
	if s.srv.BaseContext != nil {
		base = s.srv.BaseContext(ln)
	}
	base = context.WithValue(base, http.ServerContextKey, s.srv)
	var backoff time.Duration
	for {
		raw, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf("http: Accept error: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(base, raw)
		go c.serve()
	}
}

// isTemporary reports an accept error worth retrying (too many open files).
func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// Shutdown stops accepting, closes idle connections, waits for requests
// under way to finish (or ctx to end), and shuts down the http.Server.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
	for !s.closeIdle() {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
			continue
		}
		break
	}
	if serr := s.srv.Shutdown(ctx); err == nil {
		err = serr
	}
	return err
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.closeListeners()
	s.mu.Lock()
	for c := range s.conns {
		c.tc.Close()
	}
	s.mu.Unlock()
	return s.srv.Close()
}

func (s *Server) closeListeners() {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.lns {
		ln.Close()
	}
	if !s.started {
		s.started = true // srv.Serve must not start now
		s.hand.Close()
	}
}

// closeIdle closes the connections waiting for a request (and those still
// without one after 5 s, as net/http does) and reports whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		st := c.state.Load()
		if st == stateIdle || st == stateNew && time.Since(c.accepted) > 5*time.Second {
			c.tc.Close()
		}
	}
	return len(s.conns) == 0
}

func (s *Server) track(c *conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.srv.ErrorLog != nil {
		s.srv.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// handoff is the listener the http.Server takes connections from.
type handoff struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return handoffAddr{} }

// give hands c over, or closes it once the http.Server is gone.
func (h *handoff) give(c net.Conn) {
	select {
	case h.ch <- c:
	case <-h.done:
		c.Close()
	}
}

type handoffAddr struct{}

func (handoffAddr) Network() string { return "handoff" }
func (handoffAddr) String() string  { return "handoff" }

// replayConn is a TLS connection handed over after the fast path had read
// from it: prefix holds what it read and had not used.
type replayConn struct {
	*tls.Conn
	prefix []byte
	state  *tls.ConnectionState
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// TLSConn is the TLS connection (heldconn.Of looks for it).
func (c *replayConn) TLSConn() *tls.Conn { return c.Conn }
