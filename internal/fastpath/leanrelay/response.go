package leanrelay

import (
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
	"github.com/gatehouse/gatehouse/internal/httphead"
)

// CopyHeader copies the response head of resp (already cleaned by the
// caller) into dst with ReverseProxy's rules: hop-by-hop fields and those
// named in Connection are left out, and the declared trailers are
// announced in Trailer. It returns how many trailers it announced, for
// CopyTrailer.
func CopyHeader(dst http.Header, resp *http.Response) (announced int) {
	conn := resp.Header["Connection"]
	for k, vv := range resp.Header {
		if hopHeader(k) || (conn != nil && httphead.HasToken(conn, k)) {
			continue
		}
		if prev, ok := dst[k]; ok {
			dst[k] = append(prev, vv...)
		} else {
			dst[k] = vv
		}
	}
	announced = len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	return announced
}

// CopyTrailer gives w the trailers of resp, whose body is read and closed,
// as ReverseProxy does: under the names CopyHeader announced, or all with
// http.TrailerPrefix if the backend sent others.
func CopyTrailer(w http.ResponseWriter, resp *http.Response, announced int) {
	if len(resp.Trailer) > 0 {
		// Force chunking, so that net/http does not compute a
		// Content-Length for a short body.
		_ = http.NewResponseController(w).Flush()
	}
	dst := w.Header()
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

// FlushEach reports whether the body of resp is flushed after every write,
// the head at once: Server-Sent Events and bodies of unknown length.
func FlushEach(resp *http.Response) bool {
	return resp.ContentLength == -1 || isEventStream(resp.Header["Content-Type"])
}

// isEventStream reports whether a Content-Type is text/event-stream.
func isEventStream(ct []string) bool {
	if len(ct) == 0 {
		return false
	}
	mt, _, _ := strings.Cut(ct[0], ";")
	return httphead.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// maxRecord is the most a TLS record carries.
const maxRecord = 16 << 10

// CopyBody copies body to w through buf, calling flush (if not nil) after
// every write. With hc (the connection under the client's TLS, HTTP/1.x
// only), a write larger than one TLS record leaves with one syscall. It
// returns the body's read error other than io.EOF, for the caller to log,
// and the error that ended the copy, if any.
func CopyBody(w io.Writer, body io.Reader, flush func() error, hc *heldconn.Conn, buf []byte) (readErr, err error) {
	for {
		nr, rerr := body.Read(buf)
		if rerr != nil && rerr != io.EOF {
			readErr = rerr
		}
		if nr > 0 {
			held := hc != nil && nr > maxRecord
			if held {
				hc.Hold()
			}
			nw, werr := w.Write(buf[:nr])
			if held {
				if err := hc.Release(); werr == nil {
					werr = err
				}
			}
			if werr != nil {
				return readErr, werr
			}
			if nw != nr {
				return readErr, io.ErrShortWrite
			}
			if flush != nil {
				_ = flush()
			}
		}
		if rerr == io.EOF {
			return nil, nil
		}
		if rerr != nil {
			return readErr, rerr
		}
	}
}
