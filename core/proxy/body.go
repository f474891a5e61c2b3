package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/errorpage"
)

// A request body the client sends badly — broken chunking, a connection
// that ends early, an HTTP/2 stream whose DATA falls short of its
// content-length — must never reach the backend as a complete request.
// The writer stops at the error (no last chunk, fewer bytes than the
// Content-Length), the stream is aborted (abort), so the connector reads a
// cut request and its transport drops the backend connection, and the
// client gets 400, not "app not answering".

// clientBodyError is the client's request body failing to read.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string {
	return "reading the client's request body: " + e.err.Error()
}
func (e *clientBodyError) Unwrap() error { return e.err }

var pageBadBody = errorpage.Page{Status: http.StatusBadRequest, Title: "Bad request body",
	Text: "The request body was cut short or malformed, so it was not passed on to the app. Send the request again."}

// bodyReporter is a requestWriter whose body says why the client's body
// failed, if it did.
type bodyReporter interface {
	bodyErr() error
}

// bodyErrOf returns the client's body error for write, or nil.
func bodyErrOf(write requestWriter) error {
	if br, ok := write.(bodyReporter); ok {
		if err := br.bodyErr(); err != nil {
			return err
		}
	}
	return nil
}

// failure keeps the first error a client's body gave.
type failure struct {
	err atomic.Pointer[clientBodyError]
}

func (f *failure) note(err error) {
	if err != nil && err != io.EOF {
		f.err.CompareAndSwap(nil, &clientBodyError{err})
	}
}

// get returns the noted error as an error (a nil one stays untyped nil).
func (f *failure) get() error {
	if e := f.err.Load(); e != nil {
		return e
	}
	return nil
}

func (lr *leanRequest) bodyErr() error {
	if lr.body == nil {
		return nil
	}
	return lr.body.failed.get()
}

// stdBodyRequest is a stdRequest whose body is watched for client errors.
type stdBodyRequest struct {
	req    http.Request
	failed failure
}

// newStdBodyRequest copies req (a RoundTripper must not change it) with
// its body read through a watch.
func newStdBodyRequest(req *http.Request) *stdBodyRequest {
	s := &stdBodyRequest{req: *req}
	s.req.Body = &watchedBody{ReadCloser: req.Body, failed: &s.failed}
	return s
}

func (s *stdBodyRequest) writeRequest(bw *bufio.Writer) error { return s.req.Write(bw) }
func (s *stdBodyRequest) bodyErr() error                      { return s.failed.get() }

type watchedBody struct {
	io.ReadCloser
	failed *failure
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.failed.note(err)
	return n, err
}

// abort ends a request stream before its request or response is complete:
// pending reads and writes on it fail at once, and the connector reads the
// stream's end (yamux has no reset) before a complete request, or while it
// still answers, and cancels the backend request.
func abort(stream net.Conn) {
	_ = stream.SetDeadline(aLongTimeAgo)
	_ = stream.Close()
}

var aLongTimeAgo = time.Unix(1, 0)
