package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/core/proxy"
	"github.com/gatehouse/gatehouse/internal/fastpath"
)

// Serve runs until ctx is done, then shuts down: /readyz turns unready
// and the node tells its connectors it is draining; after
// shutdown.drain_delay the public listener stops accepting, in-flight
// requests get up to shutdown.timeout to finish, and the gateway is
// closed (Close).
func (g *Gateway) Serve(ctx context.Context) error {
	if g.publicLn == nil {
		if err := g.Listen(); err != nil {
			return err
		}
	}
	fp := g.fastPaths() // public.go: the listener stack
	handler := proxy.NewHandler(func() *proxy.Table { return g.snap.Load().table }, g.reg, g.log, proxy.WithFastPaths(fp))
	srv := proxy.Server(proxy.Edge(handler), g.log, proxy.WithFastPaths(fp))
	srv.TLSConfig = g.publicTLS()
	public, publicLn := g.publicServer(srv, fp)

	errc := make(chan error, 4)
	var httpSrv *http.Server
	if g.httpLn != nil {
		var challenge func(http.Handler) http.Handler
		if g.acme != nil {
			challenge = g.acme.HTTPChallengeHandler
		}
		httpSrv = &http.Server{
			Handler:           httpHandler(g.PublicAddr(), func(host string) bool { return g.snap.Load().published(host) }, challenge),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		}
		go func() {
			if err := httpSrv.Serve(g.httpLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http listener: %w", err)
			}
		}()
	}
	hctx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	g.hub.PlainTLS = !fp.On(fastpath.HeldConn)
	g.hub.FastPaths = fp
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); errc <- g.hub.Serve(hctx, g.tunnelListener(fp)) }()
	go func() {
		if err := public.Serve(publicLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("public listener: %w", err)
		}
	}()
	go g.sweepLoop(hctx)
	g.runCluster(hctx)     // cluster.go
	g.opts.Admin.serving() // /readyz: the listeners are up
	g.log.Info("gateway serving", "public", g.PublicAddr(), "tunnel", g.TunnelAddr(), "http", g.HTTPAddr(),
		"tls_mode", g.snap.Load().cfg.TLS.Mode, "apps", len(g.snap.Load().cfg.Apps), "fast_paths", fp.String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	g.opts.Admin.stopping() // /readyz: unready while draining
	g.drain(err)            // cluster.go: connectors and the load balancer move away
	sd := g.snap.Load().cfg.Shutdown
	sctx, cancel := context.WithTimeout(context.Background(), sd.Timeout.D())
	defer cancel()
	g.log.Info("gateway stopping: draining requests", "timeout", sd.Timeout.D().String())
	if httpSrv != nil {
		_ = httpSrv.Shutdown(sctx)
	}
	_ = public.Shutdown(sctx)
	stopHub()
	select { // every connector session ends before the node leaves the list
	case <-hubDone:
		g.log.Info("gateway stopping: tunnels closed")
	case <-sctx.Done():
		g.log.Warn("gateway stopping: tunnels still closing at shutdown.timeout")
	}
	g.leave()
	if cerr := g.Close(); cerr != nil { // plug-ins, filters, WASM runtime, ACME
		g.log.Error("gateway stopping: releasing", "error", cerr)
	}
	g.log.Info("gateway stopped")
	return err
}
