package connector

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/tunnel"
)

// readRequest reads the next request of a stream: the tunnel header and
// the HTTP request head, within maxHead bytes and by wait (the stream's
// clock enforces it). It sets w up for how the request ends: at once for
// a request without a body, at its body's EOF, or never for an upgrade
// (the stream becomes the upgraded connection). It reports false when
// there is no request to serve: the gateway closed the stream, or sent
// something malformed (then answered with a 400). For a TCP app's stream
// it returns no request: the connection's bytes follow the header.
func (s *session) readRequest(w *watcher, clock *streamClock, lim *tunnel.HeaderLimit, bw *bufio.Writer, wait time.Duration) (tunnel.RequestHeader, *http.Request, bool) {
	lim.Limit(maxHead)
	clock.waitHead(time.Now().Add(wait))
	hdr, err := tunnel.ReadRequestHeader(w.br)
	if err != nil {
		clock.gotHead()
		if !errors.Is(err, io.EOF) { // EOF: the gateway closed the stream
			s.log.Warn("tunnel stream: bad request header", "error", err)
		}
		return hdr, nil, false
	}
	if s.tcpStream(hdr) { // raw bytes follow, not an HTTP request (tcp.go)
		clock.gotHead()
		lim.Unlimit()
		w.hasBody = true // never reused
		return hdr, nil, true
	}
	req, err := http.ReadRequest(w.br)
	clock.gotHead()
	if err != nil {
		reqLog{s.log, &hdr}.Warn("tunnel stream: malformed request", "error", err)
		writeError(bw, http.StatusBadRequest, tunnel.ErrCodeBadRequest, "malformed request on the tunnel")
		return hdr, nil, false
	}
	lim.Unlimit()
	if httphead.HasToken(req.Header["Connection"], "upgrade") {
		w.hasBody = true // never reused
	} else if req.Body == http.NoBody {
		// Once the request is read, anything more from the gateway is its
		// close (or, after the response, its next request).
		w.arm()
	} else {
		req.Body = w.body(req.Body)
	}
	return hdr, req, true
}

// refusal is the answer to a request that admit refused.
func refusal(err error) (status int, code string) {
	switch {
	case errors.Is(err, errIdentity):
		return http.StatusForbidden, tunnel.ErrCodeIdentity
	case errors.Is(err, errAskCredentials):
		return http.StatusUnauthorized, tunnel.ErrCodeAskCreds
	case errors.Is(err, errBadLabel):
		return http.StatusBadRequest, tunnel.ErrCodeBadRequest
	}
	return http.StatusServiceUnavailable, tunnel.ErrCodeSignOn
}

// backendErrorCode tells a backend that took too long from one that failed.
func backendErrorCode(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return tunnel.ErrCodeTimeout
	}
	return tunnel.ErrCodeBackend
}
