package filter

import (
	"io"
	"unsafe"
)

// Request is the request being filtered. Changes are allowed until the
// RequestHandler returns.
type Request struct{}

// Method is the request method, e.g. "GET".
func (Request) Method() string { return getString(getMethod) }

// SetMethod changes the method.
func (Request) SetMethod(method string) { setMethod(strPtr(method), uint32(len(method))) }

// URI is the encoded path and query, e.g. "/a%20b?x=1"; "/" at least.
func (Request) URI() string { return getString(getURI) }

// SetURI changes the path and query; uri must be encoded and start with
// "/". Dot segments are refused.
func (Request) SetURI(uri string) { setURI(strPtr(uri), uint32(len(uri))) }

// Protocol is e.g. "HTTP/1.1" or "HTTP/2.0".
func (Request) Protocol() string { return getString(getProtocolVersion) }

// SourceAddr is the client's address, "ip:port" or "[ipv6]:port".
func (Request) SourceAddr() string { return getString(getSourceAddr) }

// Header is the request header, Host included.
func (Request) Header() Header { return Header{kind: 0} }

// Body is the request body. Without [BufferRequest], reading it consumes
// it: the app gets what is left, and the ResponseHandler reads nothing.
// Writing replaces it.
func (Request) Body() Body { return Body{kind: 0} }

// Response is the response: the filter's own answer in the
// RequestHandler, the app's in the ResponseHandler.
type Response struct{}

// StatusCode is the status, 200 unless set.
func (Response) StatusCode() int { return int(getStatusCode()) }

// SetStatusCode sets the status; after the app answered it needs
// [BufferResponse].
func (Response) SetStatusCode(code int) { setStatusCode(uint32(code)) }

// Header is the response header. Set in the RequestHandler, a value wins
// over the app's; in the ResponseHandler changes need [BufferResponse].
func (Response) Header() Header { return Header{kind: 1} }

// Body is the response body. In the ResponseHandler it can be read and
// written with [BufferResponse]; the first write there replaces it.
// Written in the RequestHandler of a request passed on, it is the start
// of the body and the app's body follows.
func (Response) Body() Body { return Body{kind: 1} }

// Header is a request or response header. Names are case-insensitive.
type Header struct{ kind uint32 }

// Get returns the first value of name, "" if none.
func (h Header) Get(name string) string {
	v, _ := h.Lookup(name)
	return v
}

// Lookup returns the first value of name and whether there is one.
func (h Header) Lookup(name string) (string, bool) {
	values := h.Values(name)
	if len(values) == 0 {
		return "", false
	}
	return values[0], true
}

// Values returns every value of name.
func (h Header) Values(name string) []string {
	return getList(func(buf unsafe.Pointer, limit uint32) uint64 {
		return getHeaderValues(h.kind, strPtr(name), uint32(len(name)), buf, limit)
	})
}

// Names returns the header names, lower-cased.
func (h Header) Names() []string {
	return getList(func(buf unsafe.Pointer, limit uint32) uint64 { return getHeaderNames(h.kind, buf, limit) })
}

// Set replaces the values of name with value.
func (h Header) Set(name, value string) {
	setHeaderValue(h.kind, strPtr(name), uint32(len(name)), strPtr(value), uint32(len(value)))
}

// Add adds value to name.
func (h Header) Add(name, value string) {
	addHeaderValue(h.kind, strPtr(name), uint32(len(name)), strPtr(value), uint32(len(value)))
}

// Del removes name.
func (h Header) Del(name string) { removeHeader(h.kind, strPtr(name), uint32(len(name))) }

// Body is a request or response body: an io.Reader and an io.Writer.
type Body struct{ kind uint32 }

var (
	_ io.Reader = Body{}
	_ io.Writer = Body{}
)

// Read reads the next part of the body; io.EOF at its end.
func (b Body) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := readBody(b.kind, unsafe.Pointer(&p[0]), uint32(len(p)))
	n := int(uint32(r))
	if r>>32 == 1 {
		return n, io.EOF
	}
	return n, nil
}

// Write writes p: the first write replaces the body, the next ones append.
func (b Body) Write(p []byte) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	writeBody(b.kind, ptr, uint32(len(p)))
	return len(p), nil
}

// WriteString writes s like Write.
func (b Body) WriteString(s string) (int, error) {
	writeBody(b.kind, strPtr(s), uint32(len(s)))
	return len(s), nil
}

// Bytes reads the rest of the body.
func (b Body) Bytes() []byte {
	out, _ := io.ReadAll(b) // Read returns no error but io.EOF
	return out
}
