package httploop

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// bufferBeforeHead is how much body a response holds before it must choose
// between a Content-Length it computes and chunking (net/http: 2048).
const bufferBeforeHead = 2 << 10

// response is the http.ResponseWriter of the fast path. It writes what
// net/http's HTTP/1.1 server writes for the same handler calls: the same
// status line, the headers it adds or drops (Date, Content-Type sniffed
// from the body, Content-Length for a short body, chunking otherwise,
// Connection: close), trailers, and the same errors.
type response struct {
	c      *conn
	req    *http.Request
	header http.Header
	sent   http.Header // the header as of WriteHeader, before the head is written

	status     int
	wrote      bool // WriteHeader done (not 1xx)
	headDone   bool // the head is in c.bw
	chunked    bool
	done       bool  // the handler returned
	clen       int64 // -1: unknown
	written    int64
	pending    []byte // body held until the head is written
	closeAfter bool
	trailers   []string // declared in the Trailer header
	err        error    // sticky write error
}

func newResponse(c *conn, req *http.Request) *response {
	return &response{c: c, req: req, header: make(http.Header), clen: -1, closeAfter: req.Close}
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wrote {
		w.c.s.logf("http: superfluous response.WriteHeader call")
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		bw := w.c.bw
		writeStatusLine(w, code)
		_ = w.header.WriteSubset(bw, noBodyHeaders)
		bw.WriteString("\r\n")
		w.fail(bw.Flush())
		return
	}
	w.wrote, w.status = true, code
	badCL := false
	if cl := w.header.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.clen = v
		} else {
			w.c.s.logf("http: invalid Content-Length of %q", cl)
			badCL = true
		}
	}
	// The handler may change its header map from here on; what is sent
	// is the header as it is now (an invalid Content-Length included, as
	// net/http does). Unless the body's start can still change the head
	// (a Content-Length or Content-Type to work out), it is written at
	// once instead of copied.
	_, haveType := w.header["Content-Type"]
	if !bodyAllowed(code) || w.clen != -1 && (haveType || w.header.Get("Content-Encoding") != "" || w.header.Get("Transfer-Encoding") != "") {
		w.writeHead(nil)
	} else {
		w.sent = w.header.Clone()
	}
	if badCL {
		w.header.Del("Content-Length")
	}
}

var noBodyHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}

func (w *response) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.clen != -1 && w.written > w.clen {
		return 0, http.ErrContentLength
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.headDone {
		if len(w.pending)+len(p) <= bufferBeforeHead {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		if len(w.pending) == 0 {
			w.writeHead(p)
		} else {
			w.pending = append(w.pending, p...)
			p, w.pending = w.pending, nil
			w.writeHead(p)
		}
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeBody writes p after the head, as a chunk when chunking.
func (w *response) writeBody(p []byte) error {
	if w.req.Method == http.MethodHead || len(p) == 0 {
		return nil
	}
	bw := w.c.bw
	if w.chunked {
		bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	_, err := bw.Write(p)
	if w.chunked && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	return w.fail(err)
}

func (w *response) fail(err error) error {
	if err != nil && w.err == nil {
		w.err = err
		w.closeAfter = true
	}
	return w.err
}

// commit writes the head, and the body held so far, if not done yet.
func (w *response) commit() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headDone {
		p := w.pending
		w.pending = nil
		w.writeHead(p)
		w.writeBody(p)
	}
}

// Flush sends the head and whatever body is held.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush for http.ResponseController.
func (w *response) FlushError() error {
	w.commit()
	return w.fail(w.c.bw.Flush())
}

// finish ends the response once the handler has returned.
func (w *response) finish() {
	w.done = true
	w.commit()
	bw := w.c.bw
	if w.chunked {
		bw.WriteString("0\r\n")
		if t := w.finalTrailers(); t != nil {
			_ = t.Write(bw)
		}
		bw.WriteString("\r\n")
	}
	w.fail(bw.Flush())
	if w.clen != -1 && w.written != w.clen && w.req.Method != http.MethodHead && bodyAllowed(w.status) {
		w.closeAfter = true // the client cannot tell where this response ends
	}
}

// writeHead puts the status line and headers in c.bw, deciding how the
// body is framed as net/http does; p is the body's start (for sniffing
// and, once the handler is done, the Content-Length).
func (w *response) writeHead(p []byte) {
	w.headDone = true
	hp := &headPlan{h: w.sent}
	if hp.h == nil {
		hp.h = w.header
	}
	trailers := w.declareTrailers(hp)
	w.frame(hp, p, trailers)
	bw := w.c.bw
	writeStatusLine(w, w.status)
	_ = hp.h.WriteSubset(bw, hp.exclude)
	for _, f := range [...]struct{ k, v string }{
		{"Date", hp.date}, {"Content-Length", hp.contentLength}, {"Content-Type", hp.contentType},
		{"Connection", hp.connection}, {"Transfer-Encoding", hp.transferEncoding},
	} {
		if f.v != "" {
			bw.WriteString(f.k)
			bw.WriteString(": ")
			bw.WriteString(f.v)
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
}

// headPlan is a head as writeHead sends it: the handler's header h but
// the fields in exclude, then the fields net/http adds.
type headPlan struct {
	h                                                              http.Header
	exclude                                                        map[string]bool
	contentType, connection, transferEncoding, date, contentLength string
}

// del leaves k out of the head.
func (hp *headPlan) del(k string) {
	if _, ok := hp.h[k]; ok {
		if hp.exclude == nil {
			hp.exclude = map[string]bool{}
		}
		hp.exclude[k] = true
	}
}

// declareTrailers notes the trailers the Trailer header declares, leaves
// out the header fields named with http.TrailerPrefix, and reports
// whether the response has trailers.
func (w *response) declareTrailers(hp *headPlan) bool {
	trailers := false
	for k := range hp.h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			hp.del(k)
			trailers = true
		}
	}
	for _, v := range hp.h["Trailer"] {
		trailers = true
		for _, k := range strings.Split(v, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if k != "" && httpguts.ValidTrailerHeader(k) {
				w.trailers = append(w.trailers, k)
			}
		}
	}
	return trailers
}

// frame decides the head's framing fields (Content-Length, chunking,
// Connection: close), Content-Type and Date, as net/http does.
func (w *response) frame(hp *headPlan, p []byte, trailers bool) {
	h := hp.h
	isHEAD := w.req.Method == http.MethodHead
	te := h.Get("Transfer-Encoding")
	hasTE := te != ""
	_, hasCLHeader := h["Content-Length"]
	if w.done && !trailers && !hasTE && bodyAllowed(w.status) && !hasCLHeader && (!isHEAD || len(p) > 0) {
		w.clen = int64(len(p))
		hp.contentLength = strconv.Itoa(len(p))
	}
	hasCL := w.clen != -1
	if h.Get("Connection") == "close" {
		w.closeAfter = true
	}
	if bodyAllowed(w.status) {
		_, haveType := h["Content-Type"]
		if h.Get("Content-Encoding") == "" && !haveType && !hasTE && len(p) > 0 {
			hp.contentType = http.DetectContentType(p)
		}
	} else {
		hp.del("Content-Length")
		hp.del("Transfer-Encoding")
		if w.status == http.StatusNotModified {
			hp.del("Content-Type")
		}
	}
	if _, ok := h["Date"]; !ok {
		hp.date = time.Now().UTC().Format(http.TimeFormat)
	}
	if hasCL && hasTE && te != "identity" {
		w.c.s.logf("http: WriteHeader called with both Transfer-Encoding of %q and a Content-Length of %d", te, w.clen)
		hp.del("Content-Length")
		hasCL = false
	}
	switch {
	case isHEAD || !bodyAllowed(w.status):
		hp.del("Transfer-Encoding")
	case hasCL:
		hp.del("Transfer-Encoding")
	case hasTE && te == "identity":
		w.closeAfter = true
		hp.del("Transfer-Encoding")
	default:
		w.chunked = true
		hp.transferEncoding = "chunked"
		if hasTE && te == "chunked" {
			hp.del("Transfer-Encoding")
		}
	}
	if w.chunked {
		hp.del("Content-Length")
	}
	if w.closeAfter && !httphead.HasToken([]string{h.Get("Connection")}, "close") && w.status != http.StatusSwitchingProtocols {
		hp.del("Connection")
		hp.connection = "close"
	}
}

func writeStatusLine(w *response, code int) {
	bw := w.c.bw
	bw.WriteString("HTTP/1.1 ")
	if text := http.StatusText(code); text != "" {
		bw.WriteString(strconv.Itoa(code))
		bw.WriteByte(' ')
		bw.WriteString(text)
		bw.WriteString("\r\n")
	} else {
		fmt.Fprintf(bw, "%03d status code %d\r\n", code, code)
	}
}

// finalTrailers are the trailers to send: those declared, with the values
// the handler set by now, and those named with http.TrailerPrefix.
func (w *response) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.header {
		if kk, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			if t == nil {
				t = http.Header{}
			}
			t[kk] = vv
		}
	}
	for _, k := range w.trailers {
		for _, v := range w.header[k] {
			if t == nil {
				t = http.Header{}
			}
			t.Add(k, v)
		}
	}
	return t
}

func bodyAllowed(status int) bool {
	return (status < 100 || status > 199) && status != http.StatusNoContent && status != http.StatusNotModified
}
