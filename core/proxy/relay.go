package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
	"github.com/gatehouse/gatehouse/internal/fastpath/leanrelay"
)

// The lean relay (internal/fastpath/leanrelay, fastpath.Relay) carries
// plain requests — no Upgrade, no request trailers, no WASM filters —
// without httputil.ReverseProxy: it writes the request head for the
// connector straight from the incoming request and copies the response
// into the ResponseWriter. Here is what it shares with the ReverseProxy
// path: the outgoing header (outgoingHeader), the route, the Transport's
// round trip and retries, response cleaning and the error pages. What
// reaches the connector and the client is the same on both
// (TestLeanRelayMatchesReverseProxy compares them).

// leanRequest writes one request for the connector.
type leanRequest struct {
	r    *http.Request
	ri   *routeInfo
	uri  string       // request-target: escaped path and query
	body *handlerBody // nil: none
}

func newLeanRequest(r *http.Request, ri *routeInfo) *leanRequest {
	lr := &leanRequest{r: r, ri: ri, uri: leanrelay.Target(r)}
	if leanrelay.HasBody(r) {
		lr.body = &handlerBody{r: r.Body}
	}
	return lr
}

// writeRequest writes the request in HTTP/1.1 framing, with the header
// that outgoingHeader makes for both relays.
func (lr *leanRequest) writeRequest(bw *bufio.Writer) error {
	q := leanrelay.Request{R: lr.r, URI: lr.uri, Bufs: &copyBufs}
	if lr.body != nil {
		q.Body = lr.body
	}
	f, err := q.WriteHead(bw)
	if err != nil {
		return err
	}
	outgoingHeader(lr.r, lr.ri, f.Add)
	return q.WriteBody(bw)
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
	resp, err := h.tr.roundTrip(r, ri, lr.body != nil, leanrelay.Retryable(r.Method, lr.body != nil), lr)
	if err != nil {
		h.fail(w, r, ri, err)
		return
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body.Close()
		h.fail(w, r, ri, fmt.Errorf("backend tried to switch protocol %q when none was requested", resp.Header.Get("Upgrade")))
		return
	}
	cleanResponse(resp.Header) // X-Gatehouse-* (the connector's error report too) and gateway cookies
	announced := leanrelay.CopyHeader(w.Header(), resp)
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
	leanrelay.CopyTrailer(w, resp, announced)
}

// copyBody copies the response body to w. Server-Sent Events and bodies of
// unknown length are flushed at once, the head included, and after every
// write. With hc (HTTP/1.x), a write larger than one TLS record leaves
// with one syscall.
func (h *Handler) copyBody(w http.ResponseWriter, resp *http.Response, ri *routeInfo, hc *heldconn.Conn) error {
	var flush func() error
	if leanrelay.FlushEach(resp) {
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
	rerr, err := leanrelay.CopyBody(w, resp.Body, flush, hc, *buf)
	if rerr != nil && rerr != context.Canceled {
		h.logger.Warn("reading the response body from the connector", "request_id", ri.requestID, "app", ri.route.App, "error", rerr)
	}
	return err
}

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
