package gateway

import (
	"context"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
	"github.com/gatehouse/gatehouse/internal/fastpath/httploop"
	"github.com/gatehouse/gatehouse/internal/fastpath/rawsock"
)

// The public listener, from the socket up (internal/fastpath/README.md):
//
//	TCP → rawsock → heldconn → TLS → httploop → http.Server → proxy.Edge → proxy.Handler (HSTS from the route table first)
//
// rawsock, heldconn and httploop are fast paths: with one off, its layer
// is left out; with all off, http.Server serves TLS on the plain listener.
// HTTP/2 connections go from httploop (or net/http) to http.Server's
// TLSNextProto: the one-syscall-per-frame server of core/proxy (fast path
// h2), or net/http's bundled HTTP/2.

// fastPaths is the set this gateway runs with: what the environment
// allowed (Options.FastPaths), and none with fast_paths: false in the
// config. The stricter wins.
func (g *Gateway) fastPaths() fastpath.Set {
	fp := g.opts.FastPaths
	if !g.snap.Load().cfg.FastPaths.On() {
		fp = fastpath.None
	}
	return fp
}

// publicServer serves the public listener until Shutdown.
type publicServer interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// publicServer returns the server for srv (its TLSConfig set) and the
// listener it is to serve, stacked as fp allows.
func (g *Gateway) publicServer(srv *http.Server, fp fastpath.Set) (publicServer, net.Listener) {
	g.watchCertificates(srv.TLSConfig) // metrics: admin_hooks.go
	ln := g.publicLn
	if fp.On(fastpath.RawSock) {
		ln = rawsock.Listener(ln)
	}
	if fp.On(fastpath.HeldConn) {
		ln = heldconn.Listener(ln)
	}
	if fp.On(fastpath.HTTPLoop) {
		return httploop.New(srv), ln
	}
	return tlsServer{srv}, ln
}

// tlsServer is net/http's own server on a TLS listener.
type tlsServer struct{ *http.Server }

func (s tlsServer) Serve(ln net.Listener) error { return s.ServeTLS(ln, "", "") }

// tunnelListener is the tunnel listener, with raw socket calls if fp
// allows. (Whether the tunnel's TLS sits on a heldconn is the hub's
// PlainTLS.)
func (g *Gateway) tunnelListener(fp fastpath.Set) net.Listener {
	if fp.On(fastpath.RawSock) {
		return rawsock.Listener(g.tunnelLn)
	}
	return g.tunnelLn
}
