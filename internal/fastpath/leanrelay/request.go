// Package leanrelay is the byte-level part of the gateway's lean relay,
// the fastpath Relay: it carries plain requests (no Upgrade, no request
// trailers; the proxy also sends apps with WASM filters elsewhere) to the
// connector without httputil.ReverseProxy. It writes the request head
// straight from the incoming request and copies the response into the
// ResponseWriter, where ReverseProxy clones the request and its headers,
// builds a client trace and writes through http.Request.Write.
//
// The proxy (core/proxy) keeps what both of its relays share: the
// outgoing header (its fields reach Fields.Add), the route, the tunnel
// round trip and its retries, response cleaning and the error pages.
// What reaches the connector and the client is the same on both relays
// (core/proxy's TestLeanRelayMatchesReverseProxy compares them).
package leanrelay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// Eligible reports whether r may take the lean relay: not an upgrade,
// not CONNECT, no declared request trailers, no parsed form (ReverseProxy
// would clean the query), an origin-form URL, a host of plain ASCII, and
// no bodyless-method body whose length is unknown (http.Request.Write
// probes those).
func Eligible(r *http.Request) bool {
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

// Target returns the request-target the lean relay sends for r: its
// escaped path and query.
func Target(r *http.Request) string {
	uri := r.URL.EscapedPath()
	if uri == "" {
		uri = "/"
	}
	if r.URL.ForceQuery || r.URL.RawQuery != "" {
		uri += "?" + r.URL.RawQuery
	}
	return uri
}

// HasBody reports whether r has a body to send.
func HasBody(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

// Retryable reports whether a request may be repeated: GET, HEAD and
// OPTIONS without a body.
func Retryable(method string, body bool) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return !body
	}
	return false
}

// Request is one request the lean relay writes for the connector. It is
// made for each write, on the caller's stack.
type Request struct {
	R    *http.Request
	URI  string     // request-target (Target)
	Body io.Reader  // what to send as the body; nil: none
	Bufs *sync.Pool // of *[]byte: copy buffers for a chunked body
}

// WriteHead writes the start of the request in HTTP/1.1 framing: the
// request line, Host and the framing fields. The caller then adds the
// other fields through the returned Fields and ends with WriteBody.
func (q *Request) WriteHead(bw *bufio.Writer) (Fields, error) {
	r := q.R
	if httphead.HasCTL(q.URI) {
		return Fields{}, errors.New("net/http: can't write control character in Request.URL")
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(q.URI)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	var num [20]byte
	switch {
	case q.Body == nil:
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			bw.WriteString("Content-Length: 0\r\n")
		}
	case r.ContentLength > 0:
		httphead.WriteField(bw, "Content-Length", string(strconv.AppendInt(num[:0], r.ContentLength, 10)))
	default:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	return Fields{bw: bw}, nil
}

// Fields writes the header fields of a request head.
type Fields struct {
	bw *bufio.Writer
	ua bool // a User-Agent was seen
}

// Add writes the field k: v with its value cleaned, as
// http.Request.Write does; of the User-Agent fields only the first, if
// not empty (no Go User-Agent is added).
func (f *Fields) Add(k, v string) {
	if k == "User-Agent" {
		if v = httphead.Value(v); !f.ua && v != "" {
			httphead.WriteField(f.bw, k, v)
		}
		f.ua = true
		return
	}
	httphead.WriteField(f.bw, k, httphead.Value(v))
}

// WriteBody ends the head and sends the body, if any: the head leaves
// first, since the body may be slow to arrive.
func (q *Request) WriteBody(bw *bufio.Writer) error {
	r := q.R
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	if q.Body == nil {
		return nil
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if r.ContentLength > 0 {
		n, err := io.Copy(bw, io.LimitReader(q.Body, r.ContentLength))
		if err != nil {
			return err
		}
		if n != r.ContentLength {
			return fmt.Errorf("http: ContentLength=%d with Body length %d", r.ContentLength, n)
		}
		return nil
	}
	return writeChunked(bw, q.Body, q.Bufs)
}

// writeChunked sends body in chunked encoding, flushing each chunk as
// http.Request.Write does, and ends it with an empty trailer.
func writeChunked(bw *bufio.Writer, body io.Reader, bufs *sync.Pool) error {
	buf := bufs.Get().(*[]byte)
	defer bufs.Put(buf)
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
