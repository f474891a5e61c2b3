package proxy

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/core/errorpage"
	"github.com/gatehouse/gatehouse/internal/httphead"
)

// The edge: what no request may carry past the public listener, whichever
// server read it (the HTTP/1.1 fast path, httploop, never takes these;
// net/http's HTTP/1.1 and HTTP/2 servers do). Edge wraps the public
// handler with it, with fast paths on or off.
//
//   - CONNECT (HTTP/1.1, HTTP/2, and HTTP/2 extended CONNECT) is refused
//     with 405 and a request id: a backend must never be asked to open a
//     tunnel. TCP apps will ask for one explicitly, on a path of their own.
//   - An HTTP/1.1 "Upgrade: h2c" is dropped (Upgrade, HTTP2-Settings and
//     their Connection tokens) and the request is served as plain
//     HTTP/1.1: h2c never reaches a backend, where it would open an HTTP/2
//     connection the gateway no longer sees (RATIONALE.md).
//   - A request with Authorization or Proxy-Authorization more than once
//     is refused with 400: the field holds one credential, and sign-in
//     (which reads the first) and a backend or a proxy in front (which
//     may read the last) must never disagree about who is calling.

var pageEdgeConnect = errorpage.Page{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
	Text: "Gatehouse does not forward CONNECT requests: it is not a forward proxy."}

var pageEdgeTwoCredentials = errorpage.Page{Status: http.StatusBadRequest, Title: "Bad request",
	Text: "The request carries its credentials (Authorization) more than once. Send one."}

// edgeAllow is the Allow header of the 405 answer.
const edgeAllow = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

// Edge returns h behind the edge checks.
func Edge(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if admit(w, r) {
			h.ServeHTTP(w, r)
		}
	})
}

// admit reports whether r may go on to the handler; it answers w itself
// when not, and removes an h2c upgrade from r.
func admit(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodConnect {
		p := pageEdgeConnect
		p.RequestID = errorpage.NewRequestID()
		w.Header().Set("Allow", edgeAllow)
		if r.ProtoMajor == 1 {
			// The client may already be sending tunnel bytes: they
			// must not be read as the next request.
			w.Header().Set("Connection", "close")
		}
		errorpage.Write(w, r, p)
		return false
	}
	if len(r.Header["Authorization"]) > 1 || len(r.Header["Proxy-Authorization"]) > 1 {
		p := pageEdgeTwoCredentials
		p.RequestID = errorpage.NewRequestID()
		errorpage.Write(w, r, p)
		return false
	}
	dropH2C(r.Header)
	return true
}

// dropH2C removes an h2c upgrade: Upgrade (whatever else it lists),
// HTTP2-Settings, and the tokens that name them in Connection.
func dropH2C(h http.Header) {
	if !httphead.HasToken(h["Upgrade"], "h2c") {
		return
	}
	delete(h, "Upgrade")
	delete(h, "Http2-Settings")
	conn := h["Connection"]
	if conn == nil {
		return
	}
	var keep []string
	for _, v := range conn {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.Trim(t, " \t")
			if t != "" && !httphead.EqualFold(t, "upgrade") && !httphead.EqualFold(t, "http2-settings") {
				keep = append(keep, t)
			}
		}
	}
	if len(keep) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = []string{strings.Join(keep, ", ")}
}
