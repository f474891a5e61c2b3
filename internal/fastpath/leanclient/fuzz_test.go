package leanclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// scriptConn is a backend connection that has sent data and then either
// closed (EOF) or stays open with nothing more to say (errQuiet, where a
// real socket read would wait).
type scriptConn struct {
	data   []byte
	closes bool
	read   int // bytes handed out
}

var errQuiet = errors.New("backend sent nothing more (a real read would wait)")

func (c *scriptConn) Read(p []byte) (int, error) {
	if c.read < len(c.data) {
		n := copy(p, c.data[c.read:])
		c.read += n
		return n, nil
	}
	if c.closes {
		return 0, io.EOF
	}
	return 0, errQuiet
}

func (c *scriptConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// outcome is what a client made of a backend's bytes.
type outcome struct {
	err     error // no response
	status  int
	header  http.Header
	body    []byte
	bodyErr error
	reuse   bool // the connection would carry the next request
	used    int  // bytes taken off the connection (lean only)
}

// leanOutcome runs the lean client's real RoundTrip and body over data.
func leanOutcome(data []byte, method string, closes bool) outcome {
	conn := &scriptConn{data: data, closes: closes}
	l := New(Config{Addr: "backend:80", Dial: func(context.Context, string, string) (net.Conn, error) { return conn, nil }, MaxRespHead: maxRespHead})
	req, _ := http.NewRequest(method, "http://backend/", nil)
	resp, err := l.RoundTrip(req)
	if err != nil {
		return outcome{err: err}
	}
	body, berr := io.ReadAll(resp.Body)
	resp.Body.Close()
	o := outcome{status: resp.StatusCode, header: resp.Header, body: body, bodyErr: berr, reuse: len(l.idle) == 1, used: conn.read}
	if len(l.idle) == 1 {
		o.used -= l.idle[0].br.Buffered()
	}
	return o
}

// stdOutcome reads data as net/http.Transport does: 1xx heads but 101
// skipped, the body read to its end, and the connection kept only after
// a body read to EOF, without Connection: close, and with nothing read
// past the response (the Transport's idle read would see those bytes as
// an unsolicited response and close; it closes one the backend closed
// too, as the lean client's idle check does).
func stdOutcome(data []byte, method string, closes bool) outcome {
	br := bufio.NewReader(&scriptConn{data: data, closes: closes})
	req, _ := http.NewRequest(method, "http://backend/", nil)
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return outcome{err: err}
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		body, berr := io.ReadAll(resp.Body)
		resp.Body.Close()
		_, peekErr := br.Peek(1)
		reuse := berr == nil && !resp.Close && resp.StatusCode > 199 && peekErr != nil
		return outcome{status: resp.StatusCode, header: resp.Header, body: body, bodyErr: berr, reuse: reuse}
	}
}

// FuzzLeanResponse feeds the same backend bytes to the lean client and to
// net/http. The lean client may refuse more, never less: it must not take
// a response net/http refuses, must deliver the same status, head and
// body bytes when both take one, and may keep the connection only if
// net/http would and every byte the backend sent belonged to this
// response, so that nothing of it can reach the next request.
func FuzzLeanResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalice",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\naliceHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalice",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\n\r\nuntil close",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Gatehouse-Error: unknown_app\r\n\r\n",
	} {
		f.Add([]byte(s), false, false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), true, false) // HEAD answered with a body
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"), false, true)
	f.Fuzz(func(t *testing.T, data []byte, head, closes bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		lean := leanOutcome(data, method, closes)
		std := stdOutcome(data, method, closes)
		if lean.err != nil {
			if lean.reuse {
				t.Fatal("refused and kept")
			}
			return // refusing more than net/http is allowed
		}
		if std.err != nil {
			t.Fatalf("lean took a %d response net/http refuses (%v)", lean.status, std.err)
		}
		if lean.status != std.status || !equalHeader(lean.header, std.header) {
			t.Fatalf("lean: %d %v\nnet/http: %d %v", lean.status, lean.header, std.status, std.header)
		}
		if !bytes.Equal(lean.body, std.body) || (lean.bodyErr == nil) != (std.bodyErr == nil) {
			t.Fatalf("lean body %q (%v)\nnet/http body %q (%v)", lean.body, lean.bodyErr, std.body, std.bodyErr)
		}
		if lean.reuse && !std.reuse {
			t.Fatalf("lean keeps a connection net/http would close")
		}
		if lean.reuse && lean.used != len(data) {
			t.Fatalf("lean keeps a connection with %d of %d bytes not part of the response", len(data)-lean.used, len(data))
		}
	})
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}
