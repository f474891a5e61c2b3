package connector

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath/leanclient"
	"github.com/gatehouse/gatehouse/tunnel"
)

// recordConn is a backend connection that keeps what the client wrote
// and answers with a canned response.
type recordConn struct {
	net.Conn // nil: only the methods below are used
	wrote    bytes.Buffer
	answer   io.Reader
}

func (c *recordConn) Read(p []byte) (int, error)       { return c.answer.Read(p) }
func (c *recordConn) Write(p []byte) (int, error)      { return c.wrote.Write(p) }
func (c *recordConn) Close() error                     { return nil }
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

// TestLeanHeadMatchesRequestWrite sends the connector's own backend
// requests (outbound, plus fields a sign-on plug-in may add) through the
// lean client and checks that the backend receives byte for byte what
// http.Request.Write sends. (internal/fastpath/leanclient fuzzes the head
// writer on any request.)
func TestLeanHeadMatchesRequestWrite(t *testing.T) {
	base, _ := url.Parse("http://backend.internal:8080/base")
	tests := []struct{ name, in string }{
		{"GET", "GET /bytes/100 HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent: wrk\r\nX-Forwarded-For: 127.0.0.1\r\nX-Request-Id: 1\r\n\r\n"},
		{"no User-Agent", "GET /x?a=1&b=%20 HTTP/1.1\r\nHost: demo.localhost\r\nAccept: */*\r\n\r\n"},
		{"empty User-Agent", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent:\r\n\r\n"},
		{"two User-Agents", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent: a\r\nUser-Agent: b\r\n\r\n"},
		{"HEAD", "HEAD /x HTTP/1.1\r\nHost: demo.localhost\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"},
		{"OPTIONS", "OPTIONS /x HTTP/1.1\r\nHost: demo.localhost\r\nOrigin: https://o\r\n\r\n"},
		{"Content-Length 0", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nContent-Length: 0\r\n\r\n"},
		{"escaped path", "GET /a%2Fb/%C3%A9?q HTTP/1.1\r\nHost: demo.localhost\r\n\r\n"},
		{"forced empty query", "GET /x? HTTP/1.1\r\nHost: demo.localhost\r\n\r\n"},
		{"Connection close", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nConnection: close\r\n\r\n"},
	}
	for _, preserve := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/preserve_host=%v", tt.name, preserve), func(t *testing.T) {
				in, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tt.in)))
				if err != nil {
					t.Fatal(err)
				}
				a := &app{base: base, cfg: tunnel.AppConfig{PreserveHost: preserve}}
				out := outbound(t.Context(), in, a)
				out.Header["Bad Name"] = []string{"dropped"}
				out.Header["X-Injected"] = []string{" two\r\nlines "}
				if !leanclient.Eligible(out) {
					t.Fatal("not lean-eligible")
				}
				var want bytes.Buffer
				if err := out.Write(&want); err != nil {
					t.Fatal(err)
				}
				conn := &recordConn{answer: strings.NewReader("HTTP/1.1 204 No Content\r\n\r\n")}
				rt := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil }}
				resp, err := newLean("backend.internal:8080", rt).RoundTrip(out)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := conn.wrote.String(); got != want.String() {
					t.Fatalf("lean client wrote:\n%q\nreq.Write:\n%q", got, want.String())
				}
			})
		}
	}
}

// TestLeanClientLimits checks that the connector's lean client has the
// Transport's bound on response heads: a larger head is an error.
func TestLeanClientLimits(t *testing.T) {
	for _, tt := range []struct {
		name string
		size int
		ok   bool
	}{
		{"head under maxRespHead", maxRespHead - 1024, true},
		{"head over maxRespHead", maxRespHead + 1024, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			head := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", tt.size) + "\r\nContent-Length: 2\r\n\r\nok"
			conn := &recordConn{answer: strings.NewReader(head)}
			rt := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil }}
			req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://backend/", nil)
			resp, err := newLean("backend:80", rt).RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok && !strings.Contains(err.Error(), fmt.Sprintf("larger than %d KiB", maxRespHead>>10)) {
				t.Fatalf("error %v does not name the bound", err)
			}
		})
	}
}
