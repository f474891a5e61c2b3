// Package h2 is the gateway's public HTTP/2 with one syscall per frame,
// the fastpath H2: golang.org/x/net/http2 (the code net/http bundles)
// over a connection whose every Write leaves in one syscall. The HTTP/2
// server writes each DATA frame — 16 KiB of payload plus its 9-byte
// header — with one Write, which crypto/tls cuts into a full record and a
// 9-byte one: two syscalls per frame without this
// (TestHTTP2FrameIsOneWrite).
package h2

import (
	"context"
	"crypto/tls"
	"net/http"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
)

// Configure serves HTTP/2 on srv with golang.org/x/net/http2, each write
// of a connection in one syscall (heldconn.WriteTLS). Without it, net/http
// configures its bundled HTTP/2 when srv starts serving TLS.
func Configure(srv *http.Server) error {
	s := &http2.Server{}
	if err := http2.ConfigureServer(srv, s); err != nil {
		return err
	}
	srv.TLSNextProto[http2.NextProtoTLS] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		// net/http hands the connection's base context over through the
		// handler, as it does to its own HTTP/2 server.
		var ctx context.Context
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext()
		}
		s.ServeConn(conn{c}, &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: hs})
	}
	return nil
}

// conn is a public TLS connection as the HTTP/2 server writes to it.
// Its ConnectionState is the TLS connection's, so requests keep their TLS
// details.
type conn struct{ *tls.Conn }

func (c conn) Write(p []byte) (int, error) { return heldconn.WriteTLS(c.Conn, p) }
