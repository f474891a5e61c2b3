package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/tunnel"
)

// The lean relay carries plain requests — no Upgrade, no request trailers,
// no WASM filters — without httputil.ReverseProxy: it writes the request
// head for the connector straight from the incoming request and copies the
// response into the ResponseWriter, where ReverseProxy clones the request
// and its headers, builds a client trace and writes through
// http.Request.Write. What reaches the connector and the client is the
// same (TestLeanRelayMatchesReverseProxy compares them); everything else
// still takes ReverseProxy.

// leanEligible reports whether r may take the lean relay: not an upgrade,
// no declared request trailers, no parsed form (ReverseProxy would clean
// the query), an origin-form URL, a host of plain ASCII, and no
// bodyless-method body whose length is unknown (http.Request.Write probes
// those).
func leanEligible(r *http.Request) bool {
	if r.Trailer != nil || r.Form != nil || r.Method == http.MethodConnect || r.URL.Opaque != "" ||
		httphead.HasToken(r.Header["Connection"], "upgrade") || !httphead.PlainHost(r.Host) {
		return false
	}
	if r.ContentLength < 0 {
		switch r.Method {
		case "GET", "HEAD", "DELETE", "OPTIONS", "PROPFIND", "SEARCH":
			return false
		}
	}
	return true
}

// leanRequest writes one request for the connector.
type leanRequest struct {
	r    *http.Request
	ri   *routeInfo
	uri  string       // request-target: escaped path and query
	body *handlerBody // nil: none
}

func newLeanRequest(r *http.Request, ri *routeInfo) *leanRequest {
	lr := &leanRequest{r: r, ri: ri, uri: r.URL.EscapedPath()}
	if lr.uri == "" {
		lr.uri = "/"
	}
	if r.URL.ForceQuery || r.URL.RawQuery != "" {
		lr.uri += "?" + r.URL.RawQuery
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		lr.body = &handlerBody{r: r.Body}
	}
	return lr
}

// retryable is retryable(req) for the request as it will be sent.
func (lr *leanRequest) retryable() bool {
	switch lr.r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return lr.body == nil
	}
	return false
}

// writeRequest writes the request in HTTP/1.1 framing, with the header
// that outgoingHeader makes for both relays and no Go User-Agent added.
func (lr *leanRequest) writeRequest(bw *bufio.Writer) error {
	r := lr.r
	if httphead.HasCTL(lr.uri) {
		return errors.New("net/http: can't write control character in Request.URL")
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(lr.uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	var num [20]byte
	switch {
	case lr.body == nil:
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			bw.WriteString("Content-Length: 0\r\n")
		}
	case r.ContentLength > 0:
		httphead.WriteField(bw, "Content-Length", string(strconv.AppendInt(num[:0], r.ContentLength, 10)))
	default:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	ua := false
	outgoingHeader(r, lr.ri, func(k, v string) {
		if k == "User-Agent" { // as http.Request.Write: the first one, if not empty
			if v = httphead.Value(v); !ua && v != "" {
				httphead.WriteField(bw, k, v)
			}
			ua = true
			return
		}
		httphead.WriteField(bw, k, httphead.Value(v))
	})
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	if lr.body == nil {
		return nil
	}
	// The head leaves before the body, which may be slow to arrive.
	if err := bw.Flush(); err != nil {
		return err
	}
	if r.ContentLength > 0 {
		n, err := io.Copy(bw, io.LimitReader(lr.body, r.ContentLength))
		if err != nil {
			return err
		}
		if n != r.ContentLength {
			return fmt.Errorf("http: ContentLength=%d with Body length %d", r.ContentLength, n)
		}
		return nil
	}
	return writeChunked(bw, lr.body)
}

// writeChunked sends body in chunked encoding, flushing each chunk as
// http.Request.Write does, and ends it with an empty trailer.
func writeChunked(bw *bufio.Writer, body io.Reader) error {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	var num [16]byte
	for {
		n, err := body.Read(*buf)
		if n > 0 {
			bw.Write(strconv.AppendInt(num[:0], int64(n), 16))
			bw.WriteString("\r\n")
			bw.Write((*buf)[:n])
			bw.WriteString("\r\n")
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			_, err := bw.WriteString("0\r\n\r\n")
			return err
		}
		if err != nil {
			return err
		}
	}
}

// hopHeader reports whether k is one of the hop-by-hop headers that
// ReverseProxy always removes.
func hopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// handlerBody is the incoming request body as the request writer sees it:
// once the handler has returned, reads fail (the server may reuse what the
// body reads from), as with ReverseProxy's noopCloseReader.
// It notes why the client's body failed, if it did (body.go).
type handlerBody struct {
	r      io.Reader
	closed atomic.Bool
	failed failure
}

func (b *handlerBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errors.New("proxy: request body read after the handler returned")
	}
	n, err := b.r.Read(p)
	b.failed.note(err)
	return n, err
}

// relay carries r through the tunnel on the lean path and copies the
// response to w.
func (h *Handler) relay(w http.ResponseWriter, r *http.Request, ri *routeInfo) {
	lr := newLeanRequest(r, ri)
	if lr.body != nil {
		defer lr.body.closed.Store(true)
	}
	resp, err := h.tr.roundTrip(r, ri, lr.body != nil, lr.retryable(), lr)
	if err != nil {
		h.fail(w, r, ri, err)
		return
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body.Close()
		h.fail(w, r, ri, fmt.Errorf("backend tried to switch protocol %q when none was requested", resp.Header.Get("Upgrade")))
		return
	}
	cleanResponse(resp.Header)
	dst := w.Header()
	conn := resp.Header["Connection"]
	for k, vv := range resp.Header {
		if hopHeader(k) || k == tunnel.ErrorHeader || (conn != nil && httphead.HasToken(conn, k)) {
			continue
		}
		if prev, ok := dst[k]; ok {
			dst[k] = append(prev, vv...)
		} else {
			dst[k] = vv
		}
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	if err := h.copyBody(w, resp, ri, publicConn(r)); err != nil {
		resp.Body.Close()
		if r.Context().Value(http.ServerContextKey) != nil {
			// As ReverseProxy does: the client must not take a cut
			// response for a whole one.
			panic(http.ErrAbortHandler)
		}
		return
	}
	resp.Body.Close() // fills resp.Trailer
	if len(resp.Trailer) > 0 {
		// Force chunking, so that net/http does not compute a
		// Content-Length for a short body.
		_ = http.NewResponseController(w).Flush()
	}
	if len(resp.Trailer) == announced {
		for k, vv := range resp.Trailer {
			for _, v := range vv {
				dst.Add(k, v)
			}
		}
		return
	}
	for k, vv := range resp.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			dst.Add(k, v)
		}
	}
}

// copyBody copies the response body to w. Server-Sent Events and bodies of
// unknown length are flushed at once, the head included, and after every
// write. With hc (HTTP/1.x), a write larger than one TLS record leaves
// with one syscall.
func (h *Handler) copyBody(w http.ResponseWriter, resp *http.Response, ri *routeInfo, hc *heldconn.Conn) error {
	var flush func() error
	if resp.ContentLength == -1 || isEventStream(resp.Header["Content-Type"]) {
		flush = http.NewResponseController(w).Flush
		// The head leaves at once unless body bytes are already here
		// (ReverseProxy flushes from a timer that fires as soon as its
		// copy loop waits), so net/http can still sniff a Content-Type.
		if sb, ok := resp.Body.(*streamBody); !ok || sb.br.Buffered() == 0 {
			_ = flush()
		}
	}
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	for {
		nr, rerr := resp.Body.Read(*buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			h.logger.Warn("reading the response body from the connector", "request_id", ri.requestID, "app", ri.route.App, "error", rerr)
		}
		if nr > 0 {
			held := hc != nil && nr > maxRecord
			if held {
				hc.Hold()
			}
			nw, werr := w.Write((*buf)[:nr])
			if held {
				if err := hc.Release(); werr == nil {
					werr = err
				}
			}
			if werr != nil {
				return werr
			}
			if nw != nr {
				return io.ErrShortWrite
			}
			if flush != nil {
				_ = flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// maxRecord is the most a TLS record carries.
const maxRecord = 16 << 10

// publicConn is the connection under the client's TLS for HTTP/1.x
// requests, or nil. HTTP/2 writes from its own goroutine and waits for the
// client's flow control, so its connection is never held.
func publicConn(r *http.Request) *heldconn.Conn {
	if r.ProtoMajor != 1 {
		return nil
	}
	hc, _ := r.Context().Value(heldKey{}).(*heldconn.Conn)
	return hc
}

type heldKey struct{}

// isEventStream reports whether a Content-Type is text/event-stream.
func isEventStream(ct []string) bool {
	if len(ct) == 0 {
		return false
	}
	mt, _, _ := strings.Cut(ct[0], ";")
	return httphead.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}
