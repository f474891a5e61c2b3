package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Wrap returns a handler that runs the filter in front of next. A chain is
// filters wrapping each other: a.Wrap(b.Wrap(app)) runs a first.
func (f *Filter) Wrap(next http.Handler) http.Handler { return &handler{f: f, next: next} }

type handler struct {
	f    *Filter
	next http.Handler
}

// requestIDHeader carries the id the gateway gives each request.
const requestIDHeader = "X-Request-Id"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := h.f
	rid := r.Header.Get(requestIDHeader)
	if !f.enter() {
		unavailable(w, rid, errClosed, f)
		return
	}
	defer f.exit()
	in, err := f.acquire(r.Context())
	if err != nil {
		unavailable(w, rid, err, f)
		return
	}
	panicked := h.serve(in, w, r, rid)
	f.release(in)
	if panicked != nil {
		panic(panicked) // the next handler's, after the guest saw is_error
	}
}

// serve runs one request through in. It returns what the next handler
// panicked with, to be re-raised once in is back in the pool.
func (h *handler) serve(in *instance, w http.ResponseWriter, r *http.Request, rid string) (panicked any) {
	f := h.f
	ex := &in.ex
	ex.reset(w, r, rid, in.features, f.spec.MaxBodyBytes)
	in.output.reset()
	defer func() { ex.phase, ex.r, ex.w, ex.rw, ex.saved = phaseNone, nil, nil, nil, nil }() // keep no request alive in the pool

	if err := in.call(in.request, f.spec.Timeout); err != nil {
		h.fail(in, "handle_request", err)
		return nil
	}
	ctxNext := in.stack[0]
	ex.phase = phaseNext
	// The spec's next is "zero or one"; like the reference host, any
	// value but zero passes the request on.
	if uint32(ctxNext) == 0 {
		f.succeeded()
		h.answer(ex)
		return nil
	}
	return h.passOn(in, uint32(ctxNext>>32))
}

// passOn calls the next handler, then handle_response with reqCtx (also
// when the request could not be passed on: the spec calls it regardless
// of error), and sends the response as the guest left it.
func (h *handler) passOn(in *instance, reqCtx uint32) (panicked any) {
	f, ex, w := h.f, &in.ex, in.ex.w
	rw := &responseWriter{ex: ex, w: w, buffer: ex.features&featureBufferResponse != 0, limit: f.spec.MaxBodyBytes}
	if rw.buffer {
		ex.saveHeader()
	}
	ex.rw = rw
	if ex.respWritten {
		rw.takePrefix()
	}
	if req, ce := ex.prepareNext(); ce != nil {
		f.logger.Info("wasm filter: request refused", "request_id", ex.requestID, "reason", ce.msg)
		rw.MarkHostError()
		writeError(rw, ce.status, ce.msg, ex.requestID)
	} else {
		panicked = callNext(h.next, rw, req)
	}
	isError := uint64(0)
	if panicked != nil || rw.overflow || rw.hostError {
		isError = 1
	}
	switch {
	case rw.wroteHeader:
	case len(rw.prefix) > 0 && panicked == nil:
		rw.WriteHeader(http.StatusOK) // the guest's start of the body goes out
	default:
		ex.replayHeader()
	}
	ex.phase, ex.reqPos = phaseResponse, 0 // a buffered request body is read again from its start
	in.stack[0], in.stack[1] = uint64(reqCtx), isError
	if err := in.call(in.response, f.spec.Timeout); err != nil {
		if !rw.buffer && rw.wroteHeader {
			f.logFailure(in, "handle_response", err)
			f.failed()
			if panicked == nil {
				panicked = http.ErrAbortHandler // the client must not take it for complete
			}
			return panicked
		}
		h.fail(in, "handle_response", err)
		return panicked
	}
	f.succeeded()
	switch {
	case rw.overflow:
		ex.restoreHeader()
		markHostError(w)
		writeError(w, http.StatusBadGateway, "the response is too large for this app's filter", ex.requestID)
		f.logger.Warn("wasm filter: the response was larger than max_body_bytes", "request_id", ex.requestID, "max_body_bytes", f.spec.MaxBodyBytes)
		return nil
	case rw.buffer && panicked == nil:
		ex.flushBuffered(rw)
	}
	return panicked
}

// callNext runs next, turning a panic into a value.
func callNext(next http.Handler, w http.ResponseWriter, r *http.Request) (panicked any) {
	defer func() { panicked = recover() }()
	next.ServeHTTP(w, r)
	return nil
}

// prepareNext applies the guest's body decisions to the request the next
// handler gets. With buffer_request the body is buffered now if the guest
// did not read it, so that handle_response can read it; a body over
// MaxBodyBytes is then the client's error.
func (ex *exchange) prepareNext() (*http.Request, *clientError) {
	if ex.features&featureBufferRequest != 0 && !ex.reqBuffered && !ex.reqEOF && hasBody(ex.r) {
		if ce := ex.bufferRequestBody(); ce != nil {
			return nil, ce
		}
	}
	switch {
	case ex.reqWritten:
		r := ex.request()
		body := bytes.Clone(ex.reqNew)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = nil
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	case ex.reqBuffered:
		r := ex.request()
		r.Body = io.NopCloser(bytes.NewReader(bytes.Clone(ex.reqBuf)))
	}
	return ex.r, nil
}

// answer sends the response the guest made in handle_request.
func (h *handler) answer(ex *exchange) {
	hdr := ex.w.Header()
	if bodyAllowed(ex.status) {
		hdr.Set("Content-Length", strconv.Itoa(len(ex.respNew)))
	}
	ex.w.WriteHeader(ex.status)
	if len(ex.respNew) > 0 && bodyAllowed(ex.status) {
		_, _ = ex.w.Write(ex.respNew)
	}
}

// flushBuffered sends a buffered response as handle_response left it.
func (ex *exchange) flushBuffered(rw *responseWriter) {
	body := rw.body
	hdr := ex.w.Header()
	if ex.respWritten {
		body = ex.respNew
	}
	if ex.respWritten || rw.prefixed {
		hdr.Del("Transfer-Encoding")
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
	}
	status := rw.statusCode()
	if ex.statusSet {
		status = ex.status
	}
	if !bodyAllowed(status) {
		hdr.Del("Content-Length")
	}
	ex.w.WriteHeader(status)
	if len(body) > 0 && bodyAllowed(status) {
		_, _ = ex.w.Write(body)
	}
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// fail answers 500 for a failed guest call and counts the failure, unless
// the client broke a host limit (then 413 or 400, not the guest's fault).
func (h *handler) fail(in *instance, where string, err error) {
	f, ex := h.f, &in.ex
	in.dead = true
	ex.restoreHeader()
	var ce *clientError
	if errors.As(err, &ce) {
		h.refuse(ex, ce)
		return
	}
	f.logFailure(in, where, err)
	f.failed()
	markHostError(ex.w)
	writeError(ex.w, http.StatusInternalServerError, "a filter of this app failed", ex.requestID)
}

// refuse answers a request that broke a host limit (413, 400).
func (h *handler) refuse(ex *exchange, ce *clientError) {
	h.f.logger.Info("wasm filter: request refused", "request_id", ex.requestID, "reason", ce.msg)
	markHostError(ex.w)
	writeError(ex.w, ce.status, ce.msg, ex.requestID)
}

func (f *Filter) logFailure(in *instance, where string, err error) {
	f.logger.Error("wasm filter failed; instance discarded", "request_id", in.ex.requestID,
		"call", where, "err", err, "guest_output", in.output.String())
}

// unavailable answers 503: no instance could serve the request.
func unavailable(w http.ResponseWriter, rid string, err error, f *Filter) {
	if !errors.Is(err, context.Canceled) {
		f.logger.Warn("wasm filter unavailable", "request_id", rid, "err", err)
	}
	markHostError(w)
	writeError(w, http.StatusServiceUnavailable, "a filter of this app is unavailable or busy; try again", rid)
}

// writeError answers with a short plain-text page naming the request id.
func writeError(w http.ResponseWriter, status int, msg, rid string) {
	h := w.Header()
	for _, k := range []string{"Content-Encoding", "Content-Length", "Etag", "Last-Modified", "Transfer-Encoding"} {
		h.Del(k)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if rid == "" {
		rid = "none"
	}
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "%d %s: %s (request id %s)\n", status, http.StatusText(status), msg, rid)
}
