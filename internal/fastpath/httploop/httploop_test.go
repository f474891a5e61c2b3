package httploop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// testTLS is a server TLS config and a client pool that trusts it.
func testTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cfg := ts.TLS.Clone()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ts.Close()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	return cfg, pool
}

// logBuffer collects a server's ErrorLog.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startFront serves h with a front Server on loopback and returns its
// address.
func startFront(t *testing.T, h http.Handler, cfg *tls.Config, logs io.Writer) (string, *Server) {
	t.Helper()
	srv := &http.Server{Handler: h, TLSConfig: cfg.Clone(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 64 << 10}
	if logs != nil {
		srv.ErrorLog = log.New(logs, "", 0)
	}
	if err := http2.ConfigureServer(srv, &http2.Server{}); err != nil {
		t.Fatal(err)
	}
	s := New(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String(), s
}

// startNetHTTP serves h with net/http alone, HTTP/1.1 only.
func startNetHTTP(t *testing.T, h http.Handler, cfg *tls.Config) string {
	t.Helper()
	c := cfg.Clone()
	c.NextProtos = []string{"http/1.1"}
	srv := &http.Server{Handler: h, TLSConfig: c, ErrorLog: log.New(io.Discard, "", 0)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func clientTLS(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, ServerName: "example.com", NextProtos: []string{"http/1.1"}}
}

// dial opens an HTTP/1.1 connection to addr, closed when the test ends.
func dial(t *testing.T, addr string, pool *x509.CertPool) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, clientTLS(pool))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// recorder keeps every byte read through it.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

var dateLine = regexp.MustCompile(`(?m)^Date: .*\r$`)

// exchange sends one raw request and sums up the response: its raw head
// (Date masked; 1xx heads included), the decoded body, the trailers, and
// whether the server then closed the connection. Chunk sizes are left
// out: they are not part of what a response means.
func exchange(addr string, pool *x509.CertPool, req string) (sum string, closed bool, err error) {
	c, err := tls.Dial("tcp", addr, clientTLS(pool))
	if err != nil {
		return "", false, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", false, err
	}
	rec := &recorder{r: c}
	br := bufio.NewReader(rec)
	method, _, _ := strings.Cut(req, " ")
	var heads []string
	for {
		before := rec.buf.Len() - br.Buffered()
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return fmt.Sprintf("%s-- error %v, read %q", strings.Join(heads, ""), err, dateLine.ReplaceAllString(rec.buf.String(), "Date: (masked)\r")), true, nil
		}
		head := rec.buf.String()[before : rec.buf.Len()-br.Buffered()]
		heads = append(heads, dateLine.ReplaceAllString(head, "Date: (masked)\r"))
		if resp.StatusCode >= 200 {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			sum := fmt.Sprintf("%s-- body %d bytes, %x, read error %v, trailers %v", strings.Join(heads, ""), len(body), sha256.Sum256(body), err, resp.Trailer)
			// Closed or kept: a closed connection ends at once, a
			// kept one stays quiet.
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			_, err = br.ReadByte()
			var ne net.Error
			return sum, !(errors.As(err, &ne) && ne.Timeout()), nil
		}
	}
}

// TestResponsesMatchNetHTTP serves the same handler calls with the fast
// path and with net/http and compares the bytes on the wire.
func TestResponsesMatchNetHTTP(t *testing.T) {
	cfg, pool := testTLS(t)
	big := strings.Repeat("b", 5000)
	cases := map[string]http.HandlerFunc{
		"sniffed short body": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hi</html>") },
		"declared length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		},
		"long body chunked": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) },
		"small writes": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			io.WriteString(w, big)
			io.WriteString(w, "c")
		},
		"flushed then body": func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			io.WriteString(w, "data: 1\n\n")
		},
		"event stream": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: 1\n\n")
			http.NewResponseController(w).Flush()
			io.WriteString(w, "data: 2\n\n")
		},
		"no content": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204); w.Write([]byte("x")) },
		"not modified": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(304)
		},
		"empty":       func(w http.ResponseWriter, r *http.Request) {},
		"status only": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) },
		"odd status":  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(599) },
		"early hints": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</a.css>")
			w.WriteHeader(103)
			io.WriteString(w, "ok")
		},
		"close asked by app": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		},
		"short of length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "abc")
		},
		"over length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "2")
			io.WriteString(w, "abc")
			io.WriteString(w, "ab")
		},
		"bad length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "x")
			io.WriteString(w, "abc")
		},
		"header after write": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			w.Header().Set("X-Late", "1")
			io.WriteString(w, "abc")
		},
		"identity encoding": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Transfer-Encoding", "identity")
			io.WriteString(w, "abc")
		},
		"chunked asked": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Transfer-Encoding", "chunked")
			io.WriteString(w, "abc")
		},
		"encoded, no sniff": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, "abc")
		},
		"newline in value": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-A", "a\r\nX-Injected: 1")
			io.WriteString(w, "abc")
		},
		"nil type suppresses": func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			io.WriteString(w, "<html>")
		},
		"declared trailers": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum, Content-Length")
			io.WriteString(w, "abc")
			w.Header().Set("X-Sum", "42")
		},
		"prefixed trailer": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "abc")
			http.NewResponseController(w).Flush()
			w.Header().Set(http.TrailerPrefix+"X-Late", "1")
		},
	}
	requests := []string{
		"GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"HEAD /x HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fast, _ := startFront(t, h, cfg, io.Discard)
			std := startNetHTTP(t, h, cfg)
			// Each exchange waits a while to see whether the connection
			// stays open: run them all at once.
			type result struct {
				sum    string
				closed bool
				err    error
			}
			results := make([][2]result, len(requests))
			var wg sync.WaitGroup
			for i, req := range requests {
				for j, addr := range [2]string{fast, std} {
					wg.Go(func() {
						r := &results[i][j]
						r.sum, r.closed, r.err = exchange(addr, pool, req)
					})
				}
			}
			wg.Wait()
			for i, req := range requests {
				got, want := results[i][0], results[i][1]
				if got.err != nil || want.err != nil {
					t.Fatalf("%q: fast path: %v; net/http: %v", req, got.err, want.err)
				}
				if got != want {
					t.Errorf("%q:\nfast path (closed %v):\n%s\nnet/http (closed %v):\n%s", req, got.closed, got.sum, want.closed, want.sum)
				}
			}
		})
	}
}

// TestHandsOver checks that what the fast path does not serve reaches
// net/http with its bytes and TLS details intact, also after fast-path
// requests on the same connection.
func TestHandsOver(t *testing.T) {
	cfg, pool := testTLS(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s tls=%v host=%s body=%q", r.Proto, r.Method, r.TLS != nil, r.Host, body)
	})
	addr, _ := startFront(t, h, cfg, io.Discard)
	bigHeader := "X-Big: " + strings.Repeat("a", 20<<10) + "\r\n"
	for _, tc := range []struct{ name, req, want string }{
		{"body", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", `HTTP/1.1 POST tls=true host=h body="abc"`},
		{"chunked body", "PUT /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", `HTTP/1.1 PUT tls=true host=h body="ab"`},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: h\r\n\r\n", `HTTP/1.0 GET tls=true host=h body=""`},
		{"large head", "GET / HTTP/1.1\r\nHost: h\r\n" + bigHeader + "\r\n", `HTTP/1.1 GET tls=true host=h body=""`},
		{"absolute form", "GET https://h/x HTTP/1.1\r\nHost: h\r\n\r\n", `HTTP/1.1 GET tls=true host=h body=""`},
		{"bare LF", "GET / HTTP/1.1\nHost: h\n\n", `HTTP/1.1 GET tls=true host=h body=""`},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "400 Bad Request: missing required Host header"},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400 Bad Request: malformed Host header"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400 Bad Request"},
		{"bad header value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n", "400 Bad Request"},
		{"garbage", "NOT HTTP\r\n\r\n", "400 Bad Request"},
		{"head too large", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat(bigHeader, 4) + "\r\n", "431 Request Header Fields Too Large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, addr, pool)
			br := bufio.NewReader(c)
			// A fast-path request first, then the one under test.
			io.WriteString(c, "GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
			expectBodies(t, br, `HTTP/1.1 GET tls=true host=h body=""`)
			io.WriteString(c, tc.req)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if got := resp.Status + " " + string(body); !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want it to hold %q", got, tc.want)
			}
		})
	}
}

// expectBodies reads one response per want from br and checks its body.
func expectBodies(t *testing.T, br *bufio.Reader, wants ...string) {
	t.Helper()
	for _, want := range wants {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
}

func TestPipelinedRequests(t *testing.T) {
	cfg, pool := testTLS(t)
	addr, _ := startFront(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) }), cfg, io.Discard)
	c := dial(t, addr, pool)
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nPOST /3 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\nGET /4 HTTP/1.1\r\nHost: h\r\n\r\n")
	br := bufio.NewReader(c)
	expectBodies(t, br, "/1", "/2", "/3", "/4")
}

// TestClientGoneCancelsRequest: a request that runs past watchAfter is
// cancelled when its client closes the connection.
func TestClientGoneCancelsRequest(t *testing.T) {
	cfg, pool := testTLS(t)
	result := make(chan error, 1)
	started := make(chan struct{})
	addr, srv := startFront(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			result <- nil
		case <-time.After(20 * time.Second):
			result <- errors.New("the request was not cancelled 20 s after its client left")
		}
	}), cfg, io.Discard)
	c := dial(t, addr, pool)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	waitWatching(t, srv)
	c.Close()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
}

// TestSlowRequestKeepsConnection: the watch of a long request neither
// cancels it nor loses the pipelined request that follows.
func TestSlowRequestKeepsConnection(t *testing.T) {
	cfg, pool := testTLS(t)
	release := make(chan struct{})
	addr, srv := startFront(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release // held until the watch runs and the next request is on its way
		}
		fmt.Fprintf(w, "%s %s err=%v", r.Method, r.URL.Path, r.Context().Err())
	}), cfg, io.Discard)
	c := dial(t, addr, pool)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	waitWatching(t, srv)
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
	waitNotWatching(t, srv) // the watch read the pipelined request's first byte and ended
	close(release)
	expectBodies(t, br, "GET /slow err=<nil>", "GET /next err=<nil>")
}

func TestHTTP2IsHandedOver(t *testing.T) {
	cfg, pool := testTLS(t)
	addr, _ := startFront(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s tls=%v", r.Proto, r.TLS != nil)
	}), cfg, io.Discard)
	client := &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "HTTP/2.0 tls=true" {
		t.Fatalf("got %q", b)
	}
}

func TestHandshakeFailures(t *testing.T) {
	cfg, _ := testTLS(t)
	var logs logBuffer
	addr, _ := startFront(t, http.NotFoundHandler(), cfg, &logs)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), "Client sent an HTTP request to an HTTPS server") {
		t.Fatalf("plain HTTP got %q", b)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "TLS handshake error"); {
		if time.Now().After(deadline) {
			t.Fatalf("no handshake error logged; log: %q", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownDrains: Shutdown lets a request under way finish, closes
// idle connections and ends Serve.
func TestShutdownDrains(t *testing.T) {
	cfg, pool := testTLS(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	srv := &http.Server{TLSConfig: cfg.Clone(), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		io.WriteString(w, "done")
	})}
	s := New(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	idle := dial(t, ln.Addr().String(), pool)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	ibr := bufio.NewReader(idle)
	expectBodies(t, ibr, "done")
	busy := dial(t, ln.Addr().String(), pool)
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if _, err := ibr.ReadByte(); err == nil {
		t.Fatal("the idle connection got data instead of being closed")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was under way", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	expectBodies(t, bufio.NewReader(busy), "done")
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
}

func TestHeadEnd(t *testing.T) {
	for in, want := range map[string]int{
		"":                       0,
		"GET / HTTP/1.1\r\n":     0,
		"GET / HTTP/1.1\r\n\r\n": 18,
		"GET / HTTP/1.1\n\nrest": 16,
		"A\r\nB: c\r\n\r\nbody":  11,
		"A\r\n\r":                0,
	} {
		if got := headEnd([]byte(in)); got != want {
			t.Errorf("headEnd(%q) = %d, want %d", in, got, want)
		}
	}
}

// watchingConns reports whether any connection of s has its watch running.
func watchingConns(s *Server) bool {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		w := c.watching != nil && !c.hasByte
		c.mu.Unlock()
		if w {
			return true
		}
	}
	return false
}

// waitWatching waits until a connection of s watches its client (the
// request has run for watchAfter): the event, not a sleep of that length.
func waitWatching(t *testing.T, s *Server) {
	t.Helper()
	waitCond(t, "a connection's watch to start", func() bool { return watchingConns(s) })
}

// waitNotWatching waits until no watch is reading (it ended, or it holds
// the first byte of a pipelined request).
func waitNotWatching(t *testing.T, s *Server) {
	t.Helper()
	waitCond(t, "the watch to take the pipelined byte", func() bool { return !watchingConns(s) })
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10 s waiting for %s", what)
		}
	}
}
