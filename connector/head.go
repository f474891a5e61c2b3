package connector

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	if req.Close || req.Trailer != nil || req.TransferEncoding != nil || !plainHost(req.Host) || hasCTL(uri) {
		return req.Write(bw)
	}
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(req.Host)
	bw.WriteString("\r\n")
	if v := headerValue(req.Header.Get("User-Agent")); v != "" {
		writeField(bw, "User-Agent", v)
	}
	var buf [32]string
	keys := buf[:0]
	for k := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if validFieldName(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range req.Header[k] {
			writeField(bw, k, headerValue(v))
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

func writeField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// headerValue is v as http.Header.Write sends it: CR and LF become spaces,
// surrounding white space goes.
func headerValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\n", " ", "\r", " ").Replace(v)
	}
	return strings.Trim(v, " \t\r\n")
}

// plainHost reports whether a Host value has only the bytes of a name, an
// IP literal and a port, which req.Write sends unchanged.
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// validFieldName reports whether k is an RFC 9110 token, as a header name
// must be (Header.Write drops the others).
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
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
	var buf [32]string
	keys := buf[:0]
	for k := range resp.Header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if validFieldName(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range resp.Header[k] {
			writeField(bw, k, headerValue(v))
		}
	}
	bw.WriteString("\r\n")

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
