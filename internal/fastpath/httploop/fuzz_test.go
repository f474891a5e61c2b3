package httploop

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
)

// pipeListener hands net.Pipe connections to an http.Server.
type pipeListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return handoffAddr{} }

// seenHead is what a handler saw of a request head.
type seenHead struct {
	Method, URI, Host, Proto, URL string
	Header                        http.Header
}

func headOf(r *http.Request) seenHead {
	return seenHead{Method: r.Method, URI: r.RequestURI, Host: r.Host, Proto: r.Proto, URL: r.URL.String(), Header: r.Header}
}

// netHTTPServer serves one pipe connection per call with net/http's own
// HTTP/1.1 server and returns the first request its handler got, or what
// the server answered instead.
type netHTTPServer struct {
	ln   *pipeListener
	seen chan seenHead
}

func startNetHTTPServer(t testing.TB) *netHTTPServer {
	s := &netHTTPServer{ln: &pipeListener{ch: make(chan net.Conn), done: make(chan struct{})}, seen: make(chan seenHead, 1)}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case s.seen <- headOf(r):
			default:
			}
		}),
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go srv.Serve(s.ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// serve sends data on a new connection and returns the head the handler
// saw, or ok false and the server's first answer line.
func (s *netHTTPServer) serve(data []byte) (seenHead, string, bool) {
	client, server := net.Pipe()
	defer client.Close()
	select {
	case <-s.seen: // a late one from a previous call
	default:
	}
	s.ln.ch <- server
	_ = client.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = client.Write(data) }()
	line, _ := bufio.NewReader(client).ReadString('\n')
	select {
	case h := <-s.seen:
		return h, line, true
	default:
		return seenHead{}, line, false
	}
}

// FuzzFastPathHead is differential: a request head the fast path takes
// must be one net/http's server takes too, read the same way (method,
// target, Host, headers).
func FuzzFastPathHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x?y=1 HTTP/1.1\r\nHost: app.example.com\r\nAccept: */*\r\nCookie: a=b\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\nX-A: b\n\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nhost: a\r\nx-lower: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	srv := startNetHTTPServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), headMax)
		buf, _ := br.Peek(min(len(data), headMax))
		n := headEnd(buf)
		if n == 0 {
			return // no whole head in the buffer: handed over or waited for
		}
		req, ok := fastRequest(br, n)
		if !ok {
			return // handed over to net/http
		}
		// The fast path takes it: net/http must take the same head.
		got, answer, ok := srv.serve(data[:n])
		if !ok {
			t.Fatalf("the fast path takes a head net/http refuses (%q): %q", answer, data[:n])
		}
		if want := headOf(req); !reflect.DeepEqual(got, want) {
			t.Fatalf("the fast path reads %q differently:\nfast path: %s\nnet/http:  %s", data[:n], dump(want), dump(got))
		}
	})
}

func dump(h seenHead) string { return fmt.Sprintf("%+v", h) }

// The fuzz oracle can fail: net/http's server refuses what the fast path
// must not take, and takes the plain head as the fast path reads it.
func TestNetHTTPOracle(t *testing.T) {
	srv := startNetHTTPServer(t)
	for _, refused := range []string{
		"GET / HTTP/1.1\r\nX-A: b\r\n\r\n",                 // no Host
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",     // two
		"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", // NUL
	} {
		if _, answer, ok := srv.serve([]byte(refused)); ok || answer[:12] != "HTTP/1.1 400" {
			t.Errorf("net/http took %q (%q)", refused, answer)
		}
	}
	data := []byte("GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n")
	got, answer, ok := srv.serve(data)
	br := bufio.NewReader(bytes.NewReader(data))
	_, _ = br.Peek(len(data))
	req, fast := fastRequest(br, len(data))
	if !ok || !fast || !reflect.DeepEqual(got, headOf(req)) {
		t.Fatalf("plain head: net/http %v %q %+v, fast path %v", ok, answer, got, fast)
	}
}
