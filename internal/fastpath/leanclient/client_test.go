package leanclient

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// maxRespHead is the connector's bound on response heads.
const maxRespHead = 256 << 10

// newClient is a Client for the plain-http backend at url, as the
// connector configures one.
func newClient(url string, timeout time.Duration) *Client {
	return New(Config{Addr: strings.TrimPrefix(url, "http://"), Timeout: timeout, Dial: (&net.Dialer{}).DialContext, MaxRespHead: maxRespHead})
}

func leanGet(t *testing.T, l *Client, url string) (string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	resp, err := l.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestClientReusesAndRecovers checks that sequential requests share one
// backend connection, and that a pooled connection the backend closed is
// replaced without an error and without sending the request twice.
func TestClientReusesAndRecovers(t *testing.T) {
	var conns, hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "hello")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	l := newClient(srv.URL, time.Second)
	for range 3 {
		if body, err := leanGet(t, l, srv.URL+"/"); err != nil || body != "hello" {
			t.Fatalf("GET: %q %v", body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 requests used %d connections, want 1", n)
	}
	srv.CloseClientConnections() // the pooled connection goes stale
	time.Sleep(50 * time.Millisecond)
	before := hits.Load()
	if body, err := leanGet(t, l, srv.URL+"/"); err != nil || body != "hello" {
		t.Fatalf("GET on a stale pooled connection: %q %v", body, err)
	}
	if got := hits.Load() - before; got != 1 {
		t.Fatalf("the backend saw the request %d times, want 1", got)
	}
}

// TestClientTimeoutIsNotRetried checks the response-header timeout: a
// timeout error that says so, and the request sent once.
func TestClientTimeoutIsNotRetried(t *testing.T) {
	var hits atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			hits.Add(1)
			<-release
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	l := newClient(srv.URL, 200*time.Millisecond)
	if _, err := leanGet(t, l, srv.URL+"/fast"); err != nil { // pool a connection first
		t.Fatal(err)
	}
	_, err := leanGet(t, l, srv.URL+"/slow")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !strings.Contains(err.Error(), "timeout awaiting response headers") {
		t.Fatalf("error = %v, want a timeout awaiting response headers", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("the backend saw the slow request %d times, want 1", n)
	}
}

func TestEligible(t *testing.T) {
	for _, tt := range []struct {
		method, connection string
		body               bool
		want               bool
	}{
		{"GET", "", false, true},
		{"HEAD", "", false, true},
		{"OPTIONS", "", false, true},
		{"GET", "Upgrade", false, false},
		{"GET", "", true, false},
		{"POST", "", false, false},
		{"DELETE", "", false, false},
	} {
		var body io.Reader
		if tt.body {
			body = strings.NewReader("x")
		}
		req, _ := http.NewRequest(tt.method, "http://backend/", body)
		if tt.connection != "" {
			req.Header.Set("Connection", tt.connection)
		}
		if got := Eligible(req); got != tt.want {
			t.Errorf("%s body=%v Connection=%q: eligible = %v, want %v", tt.method, tt.body, tt.connection, got, tt.want)
		}
	}
}

// TestClientHostileFraming sends alice's request to a backend that
// answers it with hostile framing, then bob's on the same client: bob
// must get his own answer, whatever alice got, and alice's connection must
// not carry his request when her answer left any doubt.
func TestClientHostileFraming(t *testing.T) {
	const bobAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbob"
	const secret = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nalice private"
	tests := []struct {
		name, method, answer string
		closeAfter           bool   // the backend closes after answering alice
		alice                string // alice's body, or "error"
		newConn              bool   // bob's request needs a new connection
	}{
		{"103 then 200", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + secret, false, "alice private", false},
		{"unsolicited 100", "GET", "HTTP/1.1 100 Continue\r\n\r\n" + secret, false, "alice private", false},
		{"several 1xx", "GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" + secret, false, "alice private", false},
		{"unasked 101", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n" + secret, false, "error", true},
		{"over-long body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalice" + secret, false, "alice", true},
		{"bad chunk size", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + secret, false, "error", true},
		{"chunked and Content-Length", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n5\r\nalice\r\n0\r\n\r\n", false, "alice", true},
		{"conflicting Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 4\r\n\r\nalice" + secret, false, "error", true},
		{"duplicate Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nalice", false, "alice", true},
		{"short body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nalice", true, "error", true},
		{"HEAD answered with a body", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 88\r\n\r\n" + secret, false, "", true},
		{"204 with a body", "GET", "HTTP/1.1 204 No Content\r\n\r\n" + secret, false, "", true},
		{"header flood", "GET", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Flood: 0123456789abcdef\r\n", maxRespHead/26+1) + "Content-Length: 5\r\n\r\nalice", false, "error", true},
		{"plain", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalice", false, "alice", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var conns atomic.Int64
			url := tcpBackend(t, func(c net.Conn) {
				conns.Add(1)
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					answer := bobAnswer
					if req.URL.Query().Get("user") == "alice" {
						answer = tt.answer
					}
					if _, err := io.WriteString(c, answer); err != nil || (answer == tt.answer && tt.closeAfter) {
						return
					}
				}
			})
			l := newClient(url, 5*time.Second)
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, url+"/?user=alice", nil)
			got := "error"
			if resp, err := l.RoundTrip(req); err == nil {
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					got = string(b)
				}
			}
			if got != tt.alice {
				t.Errorf("alice got %q, want %q", got, tt.alice)
			}
			if body, err := leanGet(t, l, url+"/?user=bob"); err != nil || body != "bob" {
				t.Fatalf("bob got %q (%v), want his own answer", body, err)
			}
			if want := map[bool]int64{false: 1, true: 2}[tt.newConn]; conns.Load() != want {
				t.Errorf("the backend saw %d connections, want %d", conns.Load(), want)
			}
		})
	}
}

// TestClientDropsConnectionWithLateBytes checks the idle check: bytes
// a backend sends on a pooled connection after its answer (the rest of an
// over-long body that came late) are not taken for the next answer.
func TestClientDropsConnectionWithLateBytes(t *testing.T) {
	pooled, late := make(chan struct{}), make(chan struct{})
	var conns atomic.Int64
	url := tcpBackend(t, func(c net.Conn) {
		n := conns.Add(1)
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.URL.Query().Get("user") == "alice" {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalice")
				<-pooled
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nalice private")
				close(late)
				continue
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbob%d", n)
		}
	})
	l := newClient(url, 5*time.Second)
	if body, err := leanGet(t, l, url+"/?user=alice"); err != nil || body != "alice" {
		t.Fatalf("alice got %q (%v)", body, err)
	}
	if len(l.idle) != 1 {
		t.Fatalf("%d pooled connections after a clean answer, want 1", len(l.idle))
	}
	close(pooled)
	<-late // written on loopback: in the client's receive queue
	if body, err := leanGet(t, l, url+"/?user=bob"); err != nil || body != "bob2" {
		t.Fatalf("bob got %q (%v), want bob2 on a new connection", body, err)
	}
}

// tcpBackend serves every connection on a loopback listener with handle
// and returns the listener's URL.
func tcpBackend(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}
