package leanclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// A backend's response is read as net/http.Transport reads it, and no
// more trustingly: a connection goes back to the pool only when the
// response's end is certain, because whatever a backend sends past that
// end would become the next user's response. See RATIONALE.md ("Why does
// the connector drop 1xx answers and close doubtful backend connections?").
// The head is bounded by Config.MaxRespHead (countingConn): a header flood
// gets an error, not the caller's memory. net/http parses a head of n
// bytes into up to 15n bytes of maps and strings.

// errUnaskedSwitch is a 101 answer to a request that asked for no upgrade.
var errUnaskedSwitch = errors.New("backend answered 101 Switching Protocols to a request that asked for no upgrade")

// readFinal reads the final response to req from br. Interim (1xx)
// answers are dropped, as http.Transport drops them: neither the gateway
// nor a browser gets them. reuse is false when the framing leaves any
// doubt about where the response ends: several Content-Length fields
// (net/http takes identical ones), Transfer-Encoding with Content-Length
// (net/http goes by the former), framing fields on a 1xx, or a head too
// big to check. The response is still delivered as net/http reads it; only
// its connection is not reused.
func readFinal(br *bufio.Reader, req *http.Request) (resp *http.Response, reuse bool, err error) {
	reuse = true
	for {
		f, err := peekHead(br)
		if err != nil {
			return nil, false, err
		}
		resp, err = http.ReadResponse(br, req)
		if err != nil {
			return nil, false, fmt.Errorf("reading the backend response: %w", err)
		}
		reuse = reuse && f.fit && f.contentLength <= 1 && (f.contentLength == 0 || f.transferEncoding == 0)
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, false, errUnaskedSwitch
		case resp.StatusCode < 100:
			return nil, false, fmt.Errorf("backend answered with status %d", resp.StatusCode)
		case resp.StatusCode < 200:
			// An interim answer (100 Continue, 103 Early Hints) has
			// no body; framing fields on one are a confused backend.
			reuse = reuse && f.contentLength == 0 && f.transferEncoding == 0
			continue
		}
		return resp, reuse, nil
	}
}

// headFields is what peekHead counted in a head.
type headFields struct {
	contentLength, transferEncoding int  // fields of each name
	fit                             bool // the whole head was seen
}

// peekHead counts the framing fields of the response head at the front
// of br without consuming it (net/http keeps only what it made of them).
// It waits for more bytes only while the head is incomplete, which
// ReadResponse would wait for too; a head larger than br's buffer is not
// counted (fit is false).
func peekHead(br *bufio.Reader) (headFields, error) {
	for n := 1; ; {
		if _, err := br.Peek(n); err != nil {
			return headFields{}, fmt.Errorf("reading the backend response: %w", err)
		}
		buf, _ := br.Peek(br.Buffered())
		if f, ok := countFields(buf); ok {
			return f, nil
		}
		if len(buf) >= br.Size() {
			return headFields{}, nil
		}
		n = len(buf) + 1
	}
}

// countFields scans the lines of a head, the status line first, up to
// the empty line that ends it; ok is false if buf holds no such line.
// Lines end in LF or CRLF, as textproto reads them.
func countFields(buf []byte) (f headFields, ok bool) {
	first := true
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return headFields{}, false
		}
		line := bytes.TrimSuffix(buf[:i], []byte{'\r'})
		buf = buf[i+1:]
		switch {
		case first:
			first = false
		case len(line) == 0:
			f.fit = true
			return f, true
		case hasFieldName(line, "content-length"):
			f.contentLength++
		case hasFieldName(line, "transfer-encoding"):
			f.transferEncoding++
		}
	}
}

// hasFieldName reports whether line is a field named name (lower case);
// net/http refuses a space before the colon, so none is allowed here.
func hasFieldName(line []byte, name string) bool {
	return len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(string(line[:len(name)]), name)
}
