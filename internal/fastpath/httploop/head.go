package httploop

import (
	"bufio"
	"net/http"

	"golang.org/x/net/http/httpguts"
)

// What the fast path takes: a whole head in its buffer that
// http.ReadRequest reads to its end, for a request that is plain.

// headEnd returns the length of the request head at the start of buf (up
// to and including the empty line, CRLF or bare LF), or 0.
func headEnd(buf []byte) int {
	for i := 0; i < len(buf); i++ {
		if buf[i] != '\n' {
			continue
		}
		if i+1 < len(buf) && buf[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(buf) && buf[i+1] == '\r' && buf[i+2] == '\n' {
			return i + 3
		}
	}
	return 0
}

// fastRequest reads the request whose head, n bytes long, is whole in br
// and returns it if the fast path may serve it. FuzzFastPathHead checks
// that it never takes a request net/http's server would refuse, nor reads
// one differently.
func fastRequest(br *bufio.Reader, n int) (*http.Request, bool) {
	buffered := br.Buffered()
	req, err := http.ReadRequest(br)
	if err != nil || br.Buffered() != buffered-n || !plain(req) {
		return nil, false
	}
	return req, true
}

// plain reports whether req may be served on the fast path: HTTP/1.1, an
// origin-form target, no body and nothing that asks for more (Expect,
// Upgrade), and a head that net/http's server would take as it is.
func plain(req *http.Request) bool {
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.Method == http.MethodConnect ||
		len(req.RequestURI) == 0 || req.RequestURI[0] != '/' || req.Body != http.NoBody {
		return false
	}
	h := req.Header
	for _, k := range [...]string{"Content-Length", "Transfer-Encoding", "Expect", "Upgrade"} {
		if _, ok := h[k]; ok {
			return false
		}
	}
	// ReadRequest took the one Host header out into req.Host.
	if req.Host == "" || !httpguts.ValidHostHeader(req.Host) {
		return false
	}
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}
