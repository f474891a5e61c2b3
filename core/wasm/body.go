package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tetratelabs/wazero/api"
)

const eofFlag = uint64(1) << 32

// read_body(kind, buf, buf_limit) -> eof<<32 | len. Stateful: each call
// reads on from where the last stopped. buf_limit 0 traps.
func readBody(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "read_body")
	kind, buf, limit := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if limit == 0 {
		violate("read_body", "buf_limit is 0")
	}
	dst := read(mod, "read_body", buf, limit)
	switch kind {
	case kindRequest:
		stack[0] = ex.readRequestBody(dst)
	case kindResponse:
		stack[0] = ex.readResponseBody(dst)
	default:
		violate("read_body", "body kind %d is not 0 (request) or 1 (response)", kind)
	}
}

// readRequestBody reads the incoming request body: from a buffered copy
// with buffer_request (the next handler gets it whole), else straight from
// the stream (the next handler gets what is left). After next, a buffered
// body is read again from its start (handle_response begins at offset 0);
// an unbuffered one was passed on, so there is nothing left to read.
func (ex *exchange) readRequestBody(dst []byte) uint64 {
	switch {
	case ex.reqBuffered:
		return ex.readBuffered(dst)
	case ex.phase != phaseRequest || !hasBody(ex.r):
		return eofFlag
	case ex.features&featureBufferRequest != 0:
		if ce := ex.bufferRequestBody(); ce != nil {
			panic(ce)
		}
		return ex.readBuffered(dst)
	case ex.reqEOF:
		return eofFlag
	}
	for {
		n, err := ex.r.Body.Read(dst)
		switch {
		case errors.Is(err, io.EOF):
			ex.reqEOF = true
			return eofFlag | uint64(n)
		case err != nil:
			refuse(http.StatusBadRequest, "reading the request body: %v", err)
		case n > 0:
			return uint64(n)
		}
	}
}

func (ex *exchange) readBuffered(dst []byte) uint64 {
	n := copy(dst, ex.reqBuf[ex.reqPos:])
	ex.reqPos += n
	if ex.reqPos == len(ex.reqBuf) {
		return eofFlag | uint64(n)
	}
	return uint64(n)
}

func hasBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

// bufferRequestBody reads what is left of the request body into memory,
// up to MaxBodyBytes: on the first read with buffer_request, or when the
// request is passed on with buffer_request, so that handle_response can
// read it again. It fails with a clientError (the client's fault, not the
// guest's).
func (ex *exchange) bufferRequestBody() *clientError {
	limit := ex.maxBody
	b, err := io.ReadAll(io.LimitReader(ex.r.Body, limit+1))
	if err != nil {
		return &clientError{status: http.StatusBadRequest, msg: fmt.Sprintf("reading the request body: %v", err)}
	}
	if int64(len(b)) > limit {
		return &clientError{status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("the request body is larger than this app's filter accepts (%d bytes)", limit)}
	}
	_ = ex.r.Body.Close()
	ex.reqBuf = append(ex.reqBuf[:0], b...)
	ex.reqBuffered = true
	return nil
}

// readResponseBody reads the buffered response in handle_response; there
// is nothing to read otherwise.
func (ex *exchange) readResponseBody(dst []byte) uint64 {
	if ex.phase != phaseResponse || !ex.rw.buffer {
		return eofFlag
	}
	n := copy(dst, ex.rw.body[ex.respPos:])
	ex.respPos += n
	if ex.respPos == len(ex.rw.body) {
		return eofFlag | uint64(n)
	}
	return uint64(n)
}

// write_body(kind, body, body_len): the first write replaces the body,
// later ones append.
func writeBody(ctx context.Context, mod api.Module, stack []uint64) {
	ex := inRequest(ctx, "write_body")
	kind := uint32(stack[0])
	p := read(mod, "write_body", uint32(stack[1]), uint32(stack[2]))
	limit := ex.maxBody
	switch kind {
	case kindRequest:
		mustBeBeforeNext(ex, "write_body")
		if !ex.reqWritten {
			ex.reqNew, ex.reqWritten = ex.reqNew[:0], true
		}
		ex.reqNew = appendLimited(ex.reqNew, p, limit)
	case kindResponse:
		switch {
		case ex.phase == phaseRequest:
		case ex.phase == phaseResponse && ex.rw.buffer:
		default:
			violate("write_body", "the response was already sent: enable buffer_response (feature 2) in handle_request")
		}
		if !ex.respWritten {
			ex.respNew, ex.respWritten = ex.respNew[:0], true
		}
		ex.respNew = appendLimited(ex.respNew, p, limit)
	default:
		violate("write_body", "body kind %d is not 0 (request) or 1 (response)", kind)
	}
}

func appendLimited(b, p []byte, limit int64) []byte {
	if int64(len(b))+int64(len(p)) > limit {
		violate("write_body", "the body would be larger than max_body_bytes (%d)", limit)
	}
	return append(b, p...)
}
