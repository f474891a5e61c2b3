package proxy

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/fastpath/h2"
)

// Option adjusts NewHandler and Server.
type Option func(*options)

type options struct{ fast fastpath.Set }

// WithFastPaths sets which of the proxy's fast paths run: the lean relay
// (fastpath.Relay) in the Handler, HTTP/2 with one syscall per frame
// (fastpath.H2) in the Server. Without it, both run.
func WithFastPaths(s fastpath.Set) Option { return func(o *options) { o.fast = s } }

func optionsOf(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// serveH2 sets up HTTP/2 on srv: golang.org/x/net/http2 with one syscall
// per frame (internal/fastpath/h2) when fastpath.H2 is on; otherwise srv keeps no
// TLSNextProto of its own and net/http configures its bundled HTTP/2 when
// it starts serving TLS.
func serveH2(srv *http.Server, o options, logger *slog.Logger) {
	if !o.fast.On(fastpath.H2) {
		return
	}
	if err := h2.Configure(srv); err != nil {
		// Cannot happen with the TLS config set here; net/http's own
		// HTTP/2 then serves, a syscall per record.
		logger.Error("HTTP/2 with one syscall per frame is off", "error", err)
		srv.TLSNextProto = nil
	}
}
