package connector

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// The common request and response heads are written here field by field:
// http.Request.Write and http.Response.Write format with fmt, copy the
// header into a sorted slice and allocate a copy buffer for every body.
// The bytes are the same (TestWriteHeadMatchesRequestWrite,
// TestWriteSizedMatchesResponseWrite); anything out of the ordinary still
// goes through net/http.

// writeHead writes the head of a bodyless request as req.Write would,
// without its per-request allocations: the request line, Host, a
// User-Agent only if the request has a non-empty one, then the other
// headers in key order. Requests it has no shortcut for (an unusual
// host, Connection: close, trailers) go through req.Write.
func writeHead(bw *bufio.Writer, req *http.Request) error {
	uri := req.URL.RequestURI()
	if req.Close || req.Trailer != nil || req.TransferEncoding != nil || !httphead.PlainHost(req.Host) || httphead.HasCTL(uri) {
		return req.Write(bw)
	}
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(req.Host)
	bw.WriteString("\r\n")
	if v := httphead.Value(req.Header.Get("User-Agent")); v != "" {
		httphead.WriteField(bw, "User-Agent", v)
	}
	return writeFields(bw, req.Header, "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer")
}

// writeFields writes the fields of h but those named in skip, in key
// order with cleaned values as http.Header.Write does, then the blank
// line that ends the head.
func writeFields(bw *bufio.Writer, h http.Header, skip ...string) error {
	var buf [32]string
	keys := buf[:0]
	for k := range h {
		if !slices.Contains(skip, k) && httphead.ValidName(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			httphead.WriteField(bw, k, httphead.Value(v))
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// sizedResponse reports whether writeSized may write resp: a body of known
// length that may be sent, without trailers or Connection: close.
func sizedResponse(resp *http.Response) bool {
	return resp.ContentLength > 0 && resp.TransferEncoding == nil && resp.Trailer == nil && !resp.Close &&
		resp.StatusCode >= 200 && resp.StatusCode <= 999 && resp.StatusCode != http.StatusNoContent &&
		resp.StatusCode != http.StatusNotModified && (resp.Request == nil || resp.Request.Method != http.MethodHead)
}

var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writeSized writes a sizedResponse as HTTP/1.1, as resp.Write would, and
// its body read through body.
func writeSized(bw *bufio.Writer, resp *http.Response, body io.Reader) error {
	var num [20]byte
	code := strconv.AppendInt(num[:0], int64(resp.StatusCode), 10)
	text := resp.Status
	if text == "" {
		if text = http.StatusText(resp.StatusCode); text == "" {
			text = "status code " + string(code)
		}
	} else if len(text) > len(code) && text[:len(code)] == string(code) && text[len(code)] == ' ' {
		text = text[len(code)+1:]
	}
	bw.WriteString("HTTP/1.1 ")
	bw.Write(code)
	bw.WriteByte(' ')
	bw.WriteString(text)
	bw.WriteString("\r\nContent-Length: ")
	bw.Write(strconv.AppendInt(num[:0], resp.ContentLength, 10))
	bw.WriteString("\r\n")
	writeFields(bw, resp.Header, "Content-Length", "Transfer-Encoding", "Trailer")

	// The body: exactly ContentLength bytes, then one more read to see
	// that nothing follows. bw's own ReadFrom must not be used: body
	// flushes bw as it reads.
	b := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(b)
	var n int64
	for n < resp.ContentLength {
		p := (*b)[:min(int64(len(*b)), resp.ContentLength-n)]
		nr, err := body.Read(p)
		n += int64(nr)
		if _, werr := bw.Write(p[:nr]); werr != nil {
			return werr
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	for n >= resp.ContentLength {
		nr, err := body.Read((*b)[:1])
		n += int64(nr)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if n != resp.ContentLength {
		return fmt.Errorf("http: ContentLength=%d with Body length %d", resp.ContentLength, n)
	}
	return nil
}
