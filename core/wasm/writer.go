package wasm

import (
	"bufio"
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
	overflow    bool // the buffered body went over MaxBodyBytes
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
	if !rw.buffer {
		rw.w.WriteHeader(code)
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
