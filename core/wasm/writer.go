package wasm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// responseWriter is what the next handler writes to. Without
// buffer_response it passes everything through, re-applying the guest's
// header changes first; with it, it keeps status and body until
// handle_response has run.
type responseWriter struct {
	ex          *exchange
	w           http.ResponseWriter
	buffer      bool
	limit       int64
	status      int
	wroteHeader bool
	body        []byte
	overflow    bool   // the buffered body went over MaxBodyBytes
	prefixed    bool   // the guest wrote the start of the body in handle_request
	prefix      []byte // that start, unbuffered: sent right after the header
	hostError   bool   // the host answered in place of the next handler (MarkHostError)
}

// takePrefix makes the response body the guest wrote in handle_request
// the start of the response: the next handler's body is appended, as with
// any write after the first. A write in handle_response replaces it all
// again (the first write_body of each call replaces the body).
func (rw *responseWriter) takePrefix() {
	ex := rw.ex
	p := bytes.Clone(ex.respNew)
	ex.respNew, ex.respWritten = ex.respNew[:0], false
	rw.prefixed = true
	if rw.buffer {
		rw.body = p // counts against MaxBodyBytes with the rest
	} else {
		rw.prefix = p
	}
}

// MarkHostError tells the filter that the response about to be written is
// not the next handler's own answer but the host's, written because
// producing it failed: a gateway error page (no connector, backend down,
// timeout) or an inner filter's failure. handle_response then gets
// is_error=1, and a start of the body the guest wrote in handle_request is
// dropped rather than put before the error page. The mark is passed to the
// writer underneath, so every filter of a chain learns it. (core/proxy
// calls it through an interface of its own.)
func (rw *responseWriter) MarkHostError() {
	rw.hostError = true
	if !rw.wroteHeader {
		rw.prefix, rw.prefixed = nil, false
		if rw.buffer {
			rw.body = rw.body[:0]
		}
	}
	markHostError(rw.w)
}

// markHostError marks w when it is a filter's writer.
func markHostError(w http.ResponseWriter) {
	if m, ok := w.(interface{ MarkHostError() }); ok {
		m.MarkHostError()
	}
}

var errResponseTooLarge = errors.New("wasm: the response is larger than the filter may buffer")

func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

func (rw *responseWriter) WriteHeader(code int) {
	if rw.wroteHeader {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(code) // informational: passed on at once
		return
	}
	rw.wroteHeader = true
	rw.status = code
	rw.ex.replayHeader()
	if rw.buffer {
		return
	}
	prefix := rw.prefix
	rw.prefix = nil
	send := len(prefix) > 0 && bodyAllowed(code)
	if send {
		rw.w.Header().Del("Content-Length") // the app's length no longer fits
	}
	rw.w.WriteHeader(code)
	if send {
		_, _ = rw.w.Write(prefix)
	}
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if !rw.buffer {
		return rw.w.Write(p)
	}
	if int64(len(rw.body))+int64(len(p)) > rw.limit {
		rw.overflow = true
		return 0, fmt.Errorf("%w (%d bytes)", errResponseTooLarge, rw.limit)
	}
	rw.body = append(rw.body, p...)
	return len(p), nil
}

// Flush passes a flush on unless the response is buffered.
func (rw *responseWriter) Flush() {
	if rw.buffer {
		return
	}
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(rw.w).Flush()
}

// Hijack is available unless the response is buffered (a buffered
// response cannot switch protocols).
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if rw.buffer {
		return nil, nil, errors.New("wasm: the filter buffers the response, so the connection cannot be hijacked")
	}
	return http.NewResponseController(rw.w).Hijack()
}

// Unwrap lets http.ResponseController reach the writer underneath, unless
// the response is buffered.
func (rw *responseWriter) Unwrap() http.ResponseWriter {
	if rw.buffer {
		return nil
	}
	return rw.w
}

// statusCode is what the next handler answered, 200 if it wrote nothing.
func (rw *responseWriter) statusCode() int {
	if rw.status == 0 {
		return http.StatusOK
	}
	return rw.status
}
