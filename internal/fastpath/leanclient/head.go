package leanclient

import (
	"bufio"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// The common request heads are written here field by field:
// http.Request.Write formats with fmt and copies the header into a sorted
// slice. The bytes are the same (TestWriteHeadMatchesRequestWrite);
// anything out of the ordinary still goes through net/http.

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
