package connector

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

func newLeanClient(t *testing.T, srv *httptest.Server, timeout time.Duration) *leanClient {
	t.Helper()
	d := &net.Dialer{}
	return &leanClient{addr: strings.TrimPrefix(srv.URL, "http://"), timeout: timeout, dial: d.DialContext}
}

func leanGet(t *testing.T, l *leanClient, url string) (string, error) {
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

// TestLeanClientReusesAndRecovers checks that sequential requests share one
// backend connection, and that a pooled connection the backend closed is
// replaced without an error and without sending the request twice.
func TestLeanClientReusesAndRecovers(t *testing.T) {
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
	l := newLeanClient(t, srv, time.Second)
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

// TestLeanClientTimeoutIsNotRetried checks the response-header timeout: a
// timeout error that says so, and the request sent once.
func TestLeanClientTimeoutIsNotRetried(t *testing.T) {
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
	l := newLeanClient(t, srv, 200*time.Millisecond)
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

func TestLeanEligible(t *testing.T) {
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
		if got := leanEligible(req); got != tt.want {
			t.Errorf("%s body=%v Connection=%q: eligible = %v, want %v", tt.method, tt.body, tt.connection, got, tt.want)
		}
	}
}

// TestWriteHeadMatchesRequestWrite checks that the lean client's request
// head is byte for byte what http.Request.Write sends, for requests as
// outbound builds them from what the gateway sent.
func TestWriteHeadMatchesRequestWrite(t *testing.T) {
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
		{"many headers", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\n" +
			"J: 10\r\nK: 11\r\nL: 12\r\nM: 13\r\nN: 14\r\nO: 15\r\nP: 16\r\nQ: 17\r\nR: 18\r\nS: 19\r\nT: 20\r\nU: 21\r\nV: 22\r\nW: 23\r\n" +
			"X: 24\r\nY: 25\r\nZ: 26\r\nAa: 27\r\nAb: 28\r\nAc: 29\r\nAd: 30\r\nAe: 31\r\nAf: 32\r\nAg: 33\r\nAh: 34\r\n\r\n"},
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
				// a sign-on plug-in may add anything
				out.Header["Bad Name"] = []string{"dropped"}
				out.Header["X-Injected"] = []string{" two\r\nlines "}
				if !leanEligible(out) {
					t.Fatal("not lean-eligible")
				}
				var want, got bytes.Buffer
				bw := bufio.NewWriter(&want)
				if err := out.Write(bw); err != nil {
					t.Fatal(err)
				}
				bw.Flush()
				bw = bufio.NewWriter(&got)
				if err := writeHead(bw, out); err != nil {
					t.Fatal(err)
				}
				bw.Flush()
				if got.String() != want.String() {
					t.Fatalf("writeHead:\n%q\nreq.Write:\n%q", got.String(), want.String())
				}
			})
		}
	}
}
