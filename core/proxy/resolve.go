package proxy

import (
	"net/http"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/target"
)

// The pages for requests refused before routing.
var (
	pageBadTarget = errorpage.Page{Status: http.StatusBadRequest, Title: "Bad address",
		Text: "Gatehouse does not forward this address: "}
	pageBadHost = errorpage.Page{Status: http.StatusBadRequest, Title: "Bad host",
		Text: "The request does not name a host Gatehouse can serve (a host name, optionally with a port)."}
	pageMisdirected = errorpage.Page{Status: http.StatusMisdirectedRequest, Title: "Wrong connection",
		Text: "This connection was opened for another host. Open the address again; your browser will make a new connection."}
)

// resolve decides what r asks for, the one place that does (package
// target): a host name that agrees with the TLS server name, and a path
// that is checked and normalised once, before routing (CONNECT never
// gets here: Edge refuses it for every request). It answers
// requests for the gateway itself (package reserved, OPTIONS *) and refusals
// with a page that carries rid, and returns nil for them. For a routed
// request it rewrites r's Host and URL path to their normalised forms, so
// that the access rule, the WASM filters, the connector and the backend
// all see what routing saw.
func (h *Handler) resolve(w http.ResponseWriter, r *http.Request, t *Table, rid string) *Route {
	name, host, ok := target.Host(r.Host)
	if !ok {
		h.refuse(w, r, rid, pageBadHost, "request refused: bad Host", "host", r.Host)
		return nil
	}
	if r.TLS != nil && target.Misdirected(r.TLS.ServerName, name) {
		h.refuse(w, r, rid, pageMisdirected, "request refused: Host is not the TLS server name",
			"host", name, "sni", r.TLS.ServerName)
		return nil
	}
	if r.Method == http.MethodOptions && r.URL.Path == "*" && r.URL.RawPath == "" {
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		w.WriteHeader(http.StatusNoContent) // about the server, which is the gateway
		return nil
	}
	escaped := r.URL.EscapedPath()
	p, err := target.Parse(escaped)
	if err != nil {
		pg := pageBadTarget
		pg.Text += err.Error() + "."
		h.refuse(w, r, rid, pg, "request refused: path", "reason", err.Error())
		return nil
	}
	if p.Reserved {
		r.URL.Path, r.URL.RawPath, r.Host = p.Decoded, "", host
		if rt := t.tcpRoute(name); rt != nil && p.Decoded == reserved.TCP && !p.EscapedSlash {
			return rt // a TCP app's connection (tcp.go)
		}
		if !p.EscapedSlash && t.Reserved != nil && reserved.Exact(p.Decoded) && t.HostKey(name) != "" {
			t.Reserved.ServeHTTP(w, r)
			return nil
		}
		reserved.NotFound(w, r, rid)
		return nil
	}
	route, n := t.match(name, p.Decoded)
	if route == nil {
		pg := pageUnknownHost
		pg.RequestID = rid
		errorpage.Write(w, r, pg)
		return nil
	}
	if err := p.Check(route.Paths); err != nil {
		pg := pageBadTarget
		pg.Text += err.Error() + "."
		h.refuse(w, r, rid, pg, "request refused: path", "app", route.App, "reason", err.Error())
		return nil
	}
	if p = p.WithPrefix(route.Prefix, n); p.Escaped != escaped || p.Decoded != r.URL.Path {
		r.URL.Path, r.URL.RawPath = p.Decoded, ""
		if r.URL.EscapedPath() != p.Escaped {
			r.URL.RawPath = p.Escaped
		}
	}
	if r.Host != host {
		r.Host = host
	}
	return route
}

// refuse answers with page p and logs why, with the request id.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, rid string, p errorpage.Page, msg string, args ...any) {
	p.RequestID = rid
	h.logger.Info(msg, append([]any{"request_id", rid}, args...)...)
	errorpage.Write(w, r, p)
}
