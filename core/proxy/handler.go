// Package proxy is the public side of the gateway: it finds the app for
// each request by Host and path prefix, cleans the request's headers, and
// relays it through a connector tunnel over Transport: plain requests on
// a lean path of their own (relay.go), upgrades, requests with trailers
// and apps with WASM filters with httputil.ReverseProxy. Responses stream
// both ways without buffering; Upgrade requests (WebSocket) become raw
// streams; failures become error pages that carry a request id.
package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
	"github.com/gatehouse/gatehouse/internal/fastpath/leanrelay"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// Handler serves the public listener.
type Handler struct {
	table  func() *Table
	logger *slog.Logger
	tr     *Transport
	rp     *httputil.ReverseProxy
	noLean bool // the lean relay is off (fastpath.Relay; tests set it too)
}

// NewHandler returns a handler that routes with the table current at each
// request and relays through dialer.
func NewHandler(table func() *Table, dialer Dialer, logger *slog.Logger, opts ...Option) *Handler {
	o := optionsOf(opts)
	h := &Handler{table: table, logger: logger, tr: &Transport{Dialer: dialer, Logger: logger}, noLean: !o.fast.On(fastpath.Relay)}
	h.rp = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      h.tr,
		BufferPool:     bufferPool{},
		ErrorHandler:   h.proxyError,
		ModifyResponse: modifyResponse,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := errorpage.NewRequestID()
	w.Header().Set("X-Request-Id", rid)
	t := h.table()
	if r.TLS != nil { // the route table carries each host's HSTS (apps[].hsts)
		if age := t.HSTS(r.Host); age > 0 {
			w.Header().Set("Strict-Transport-Security", "max-age="+strconv.FormatInt(age, 10))
		}
	}
	route := h.resolve(w, r, t, rid) // Host, TLS server name, path: resolve.go
	if route == nil {
		return
	}
	if route.TCP != nil { // a TCP app's host: tcp.go
		h.serveTCP(w, r, route, t.Version, rid)
		return
	}
	w, obs := observe(w, r, route, rid) // metrics and access log: observe.go
	defer obs.done()
	stripSpoofable(r.Header)
	var adm signin.Admission
	if route.Guard != nil {
		var ok bool
		if adm, ok = route.Guard.Admit(w, r, rid); !ok {
			return
		}
		obs.signedIn(adm.Identity.Subject)
	}
	ri := &routeInfo{route: route, version: t.Version, requestID: rid, envelope: adm.Envelope, secret: adm.Secret, trailer: r.Trailer, obs: obs}
	if route.Filters == nil && !h.noLean && leanrelay.Eligible(r) {
		h.relay(w, r, ri) // sets the X-Forwarded-* and X-Request-Id headers itself
		return
	}
	r.Header.Set("X-Request-Id", rid)
	r.Header.Set("X-Forwarded-Host", r.Host)
	r.Header.Set("X-Forwarded-Proto", "https")
	r = r.WithContext(context.WithValue(r.Context(), routeKey{}, ri))
	if route.Filters != nil {
		setIdentityHeaders(r.Header, adm.Identity)
		route.Filters(h.rp).ServeHTTP(w, r)
		return
	}
	h.rp.ServeHTTP(w, r)
}

// setIdentityHeaders tells an app's filters who the user is (id, from the
// admission; empty for passthrough apps), in headers only the gateway
// sets (a client's copies were stripped, and these are removed again
// before the request leaves for the connector). Filters never see the
// gateway's cookies either.
func setIdentityHeaders(h http.Header, id sdk.Identity) {
	signin.StripCookies(h)
	for k, v := range map[string]string{
		"X-Gatehouse-User": id.Subject, "X-Gatehouse-Upn": id.UPN,
		"X-Gatehouse-Email": id.Email, "X-Gatehouse-Groups": strings.Join(id.Groups, ","),
	} {
		if v != "" {
			h.Set(k, v)
		}
	}
}

// stripSpoofable removes headers that only Gatehouse may set, in any
// case and with "_" for "-": a client must never be able to claim an
// identity or forge a tunnel answer, not even to the app's filters. (What
// leaves for the connector is cut further by outgoingHeader.)
func stripSpoofable(h http.Header) {
	for k := range h {
		if httphead.Gatehouse(k) || (httphead.Underscored(k) && httphead.Gatehouse(strings.ReplaceAll(k, "_", "-"))) {
			delete(h, k)
		}
	}
}

// hostErrorMarker is the writer of an app's WASM filter (core/wasm): told
// that the gateway answers with an error page instead of the app, it runs
// the guest's handle_response with is_error=1. A backend's own error
// status is the app's answer and is not marked.
type hostErrorMarker interface{ MarkHostError() }

func (h *Handler) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	ri, _ := r.Context().Value(routeKey{}).(*routeInfo)
	h.fail(w, r, ri, err)
}

// fail answers with the error page for a request that could not be relayed.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, ri *routeInfo, err error) {
	if m, ok := w.(hostErrorMarker); ok {
		m.MarkHostError()
	}
	p := pageBackend
	var ce *connectorError
	var so *registry.SignOnError
	switch {
	case errors.As(err, new(*clientBodyError)): // body.go: the client's fault, not the app's
		p = pageBadBody
	case errors.As(err, &so): // no connector runs the app's sign-on: say why
		p = so.Page()
	case errors.Is(err, registry.ErrNoConnector):
		p = pageNoConnector
	case errors.As(err, &ce) && ce.code == tunnel.ErrCodeTimeout:
		p = pageTimeout
	case errors.As(err, &ce) && ce.code == tunnel.ErrCodeSignOn:
		p = pageSignOn
	case errors.As(err, &ce) && ce.code == tunnel.ErrCodeIdentity:
		p = pageIdentity
	case errors.As(err, &ce) && ce.code == tunnel.ErrCodeAskCreds:
		// The password vault has no working credentials for this user: a
		// browser goes to the page that asks for them, once per attempt.
		h.logger.Info("vault: asking the user for credentials", "request_id", ri.requestID, "app", ri.route.App)
		if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
			http.Redirect(w, r, reserved.Credentials(ri.route.App, r.URL.RequestURI(), true), http.StatusSeeOther)
			return
		}
		p = pageAskCredentials
	case errors.Is(err, context.Canceled):
		// the client went away; nobody reads the page
	}
	p.RequestID = ri.requestID
	h.logger.Warn("request failed", "request_id", ri.requestID, "app", ri.route.App,
		"status", p.Status, "error", err)
	errorpage.Write(w, r, p)
}

// bufferPool gives ReverseProxy 64 KiB copy buffers.
type bufferPool struct{}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBufs.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBufs.Put(&b) }

// Server returns the public http.Server with safe limits: headers must
// arrive within 10 s and fit in 64 KiB (431 otherwise); idle connections
// close after 2 minutes; bodies have no deadline, so long uploads work.
// A connection that ends before any request reached the handler
// (oversized headers, a client that stalls, a failed TLS handshake, not
// HTTP) gets one log line.
func Server(h http.Handler, logger *slog.Logger, opts ...Option) *http.Server {
	var conns sync.Map // net.Conn → *atomic.Bool: has a request been served
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if served, ok := r.Context().Value(servedKey{}).(*atomic.Bool); ok {
				served.Store(true)
			}
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelInfo),
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			served := new(atomic.Bool)
			conns.Store(c, served)
			if hc := heldconn.Of(c); hc != nil {
				ctx = context.WithValue(ctx, heldKey{}, hc)
			}
			return context.WithValue(ctx, servedKey{}, served)
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if st != http.StateClosed && st != http.StateHijacked {
				return
			}
			v, ok := conns.LoadAndDelete(c)
			if ok && st == http.StateClosed && !v.(*atomic.Bool).Load() {
				logger.Info("client connection closed before any request was served (headers too large, too slow, or not HTTP)",
					"remote", c.RemoteAddr().String())
			}
		},
	}
	serveH2(srv, optionsOf(opts), logger) // fastpaths.go
	return srv
}

type servedKey struct{}
