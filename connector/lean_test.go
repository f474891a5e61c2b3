package connector

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
