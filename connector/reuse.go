package connector

import (
	"net"
	"net/http"
	"net/http/httptrace"
)

// The standard Transport keeps a read pending on every idle pooled
// connection and drops one on which bytes arrive unasked (an unsolicited
// response, or the rest of an over-long one). That check runs when its
// read loop gets scheduled: on a loaded machine a new request can take
// the connection first, and the stray bytes then answer the next user's
// request. reuseGuard closes the race from the other side: when the
// Transport hands a reused connection to a request, it looks (without
// reading) whether anything is waiting on the socket and, if so, closes
// the connection before the request is written. The Transport then
// retries a request that wrote nothing on a new connection, and a request
// it cannot retry fails: never another user's answer.
var reuseGuard = &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
	if info.Reused && bytesWaiting(info.Conn) {
		_ = info.Conn.Close()
	}
}}

// guardReuse returns out with the reuse guard on its context.
func guardReuse(out *http.Request) *http.Request {
	return out.WithContext(httptrace.WithClientTrace(out.Context(), reuseGuard))
}

// socketOf finds the socket under c: through TLS, and through wrappers
// that say what they wrap.
func socketOf(c net.Conn) net.Conn {
	for range 4 {
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		c = w.NetConn()
	}
	return c
}
