package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/internal/httphead"
)

// What a request leaves the gateway with is decided in one place,
// outgoingHeader, for both relays: the lean relay writes what it emits,
// ReverseProxy (apps with filters, upgrades, requests with trailers)
// sends it through rewrite. A client's header goes on unless it is
//
//   - hop-by-hop, or named in Connection;
//   - one the gateway sets itself (X-Forwarded-For/-Host/-Proto,
//     X-Request-Id): those are always set, whatever Connection says;
//   - X-Gatehouse-*: only the gateway sets those (the identity headers
//     WASM filters see end here too);
//   - a name with "_" (see httphead.Underscored);
//   - a common identity header (httphead.Identity), unless the app sets
//     forward_identity_headers.
//
// Cookie headers lose the gateway's own cookies. Request trailers reach the
// backend only by the names the app allows (allow_trailers), never one of
// the names above; responses lose any Set-Cookie of a gateway cookie.

// HeaderPolicy is what an app lets through from clients beyond the
// default.
type HeaderPolicy struct {
	// ForwardIdentity lets a client's identity headers (Remote-User,
	// X-Remote-*, …) through: forward_identity_headers.
	ForwardIdentity bool
	// Trailers are the request trailers that may reach the backend:
	// allow_trailers.
	Trailers []string
}

// forwarded reports whether a client's header field k goes on to the
// connector; conn is the request's Connection header.
func (p *HeaderPolicy) forwarded(k string, conn []string) bool {
	switch {
	case httphead.HopByHop(k), httphead.GatewaySet(k), httphead.Gatehouse(k), httphead.Underscored(k),
		httphead.EqualFold(k, "Host"), httphead.EqualFold(k, "Content-Length"), httphead.EqualFold(k, "Expect"),
		!httphead.ValidName(k):
		// Host and Content-Length are framing, which the writers do
		// themselves; the connector's transport handles 100-continue.
		return false
	case !p.ForwardIdentity && httphead.Identity(k):
		return false
	}
	return conn == nil || !httphead.HasToken(conn, k)
}

// trailerAllowed reports whether a request trailer k may reach the backend.
func (p *HeaderPolicy) trailerAllowed(k string) bool {
	if httphead.TrailerRefusal(k) != "" {
		return false
	}
	for _, t := range p.Trailers {
		if httphead.EqualFold(k, t) {
			return true
		}
	}
	return false
}

// outgoingHeader calls emit with every header field value that r leaves
// the gateway with, framing aside (Host, Content-Length,
// Transfer-Encoding, Trailer, and for upgrades Connection and Upgrade):
// the client's fields that may go on, then Te: trailers if the client
// said it accepts trailers, then the fields the gateway sets.
func outgoingHeader(r *http.Request, ri *routeInfo, emit func(k, v string)) {
	p := &ri.route.Headers
	conn := r.Header["Connection"]
	for k, vv := range r.Header {
		if !p.forwarded(k, conn) {
			continue
		}
		cookie := httphead.EqualFold(k, "Cookie")
		for _, v := range vv {
			if cookie {
				var ok bool
				if v, ok = signin.CleanCookie(v); !ok {
					continue
				}
			}
			emit(k, v)
		}
	}
	if httphead.HasToken(r.Header["Te"], "trailers") {
		emit("Te", "trailers")
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		// A client that names X-Forwarded-For in Connection loses its
		// own list; its address is appended all the same.
		if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 && (conn == nil || !httphead.HasToken(conn, "X-Forwarded-For")) {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		emit("X-Forwarded-For", ip)
	}
	emit("X-Forwarded-Host", r.Host)
	emit("X-Forwarded-Proto", "https")
	emit("X-Request-Id", ri.requestID)
}

// rewrite prepares the request ReverseProxy sends. Its header is
// outgoingHeader's, as on the lean relay (Rewrite, unlike Director, runs
// after ReverseProxy removed the hop-by-hop headers, so a client cannot
// remove what is set here). The URL only has to be well formed for
// http.Request.Write: the connector replaces it with the backend URL.
func rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = in.Host
	if in.Form == nil {
		// ReverseProxy drops query parameters it cannot parse; the lean
		// relay sends the query as it came.
		out.URL.RawQuery = in.URL.RawQuery
	}
	h := make(http.Header, len(in.Header)+4)
	if up, ok := out.Header["Upgrade"]; ok { // ReverseProxy set both for an upgrade
		h["Connection"], h["Upgrade"] = out.Header["Connection"], up
	}
	out.Header, out.Trailer = h, nil
	ri, ok := in.Context().Value(routeKey{}).(*routeInfo)
	if !ok {
		return // RoundTrip refuses it
	}
	outgoingHeader(in, ri, func(k, v string) { h[k] = append(h[k], v) })
	forwardTrailers(out, ri)
}

// forwardTrailers gives out the request trailers the app allows, copied
// from the incoming request's (which the server fills at the body's end)
// when out's body ends.
func forwardTrailers(out *http.Request, ri *routeInfo) {
	p := &ri.route.Headers
	if ri.trailer == nil || len(p.Trailers) == 0 || out.Body == nil || out.Body == http.NoBody {
		return
	}
	out.Trailer = http.Header{}
	for k := range ri.trailer { // the declared names
		if p.trailerAllowed(k) {
			out.Trailer[k] = nil
		}
	}
	out.Body = &trailerBody{ReadCloser: out.Body, src: ri.trailer, dst: out.Trailer, p: p}
}

// trailerBody copies the allowed trailers from src to dst at the end of
// the body, before http.Request.Write writes dst.
type trailerBody struct {
	io.ReadCloser
	src, dst http.Header
	p        *HeaderPolicy
	done     bool
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		for k, vv := range b.src {
			if b.p.trailerAllowed(k) && len(vv) > 0 {
				b.dst[k] = vv
			}
		}
	}
	return n, err
}

// cleanResponse removes from a response head what must not reach the
// client: every X-Gatehouse-* header (the tunnel's error signal was read
// before this; neither a backend nor a connector speaks for the gateway),
// and any Set-Cookie that would set one of the gateway's cookies (a backend
// must not plant a session).
func cleanResponse(h http.Header) {
	for k := range h {
		if httphead.Gatehouse(k) {
			delete(h, k)
		}
	}
	if sc, ok := h["Set-Cookie"]; ok {
		if kept := signin.ForeignSetCookies(sc); len(kept) == 0 {
			delete(h, "Set-Cookie")
		} else {
			h["Set-Cookie"] = kept
		}
	}
}

// modifyResponse cleans the backend's response on the ReverseProxy path.
func modifyResponse(resp *http.Response) error {
	cleanResponse(resp.Header)
	return nil
}
