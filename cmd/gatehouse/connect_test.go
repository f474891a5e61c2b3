package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/wsstream"
	"github.com/gatehouse/gatehouse/sdk"
)

// keyAuth signs in alice when the request carries X-Key: k.
type keyAuth struct{}

func (keyAuth) Authenticate(_ context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	if req.Header.Get("X-Key") == "k" {
		return sdk.Authenticated(sdk.Identity{Subject: "alice"}), nil
	}
	return sdk.NotMine(), nil
}

// addKey is a browser that signs in with the key header.
type addKey struct{ rt http.RoundTripper }

func (a addKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Key", "k")
	r.Header.Set("Accept", "text/html")
	return a.rt.RoundTrip(r)
}

// testGateway is a TLS server with the real sign-in and CLI endpoints of
// one app, and an echo at reserved.TCP behind the app's gate.
func testGateway(t *testing.T, status *atomic.Int32) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, _ := session.NewSealer(bytes.Repeat([]byte{1}, 32))
	_, priv, _ := ed25519.GenerateKey(nil)
	gate := &signin.Gate{Sealer: sealer, Envelope: priv, Store: db, Logger: slog.New(slog.DiscardHandler), Now: time.Now}
	app := &signin.App{Name: "ssh", Host: "127.0.0.1", Prefix: "/", Plugin: "key", Auth: keyAuth{}, Lifetime: time.Hour, Gate: gate}
	mux := &reserved.Mux{Apps: map[string]reserved.App{"ssh": {Host: "127.0.0.1", Start: http.HandlerFunc(app.Start),
		Callback: http.HandlerFunc(app.Callback), CLILogin: http.HandlerFunc(app.CLILogin), CLIToken: http.HandlerFunc(app.CLIToken)}}}
	var opened atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != reserved.TCP {
			mux.ServeHTTP(w, r)
			return
		}
		if s := status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		if _, ok := app.Admit(w, r, "rid"); !ok {
			return
		}
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{reserved.TCPProtocol}})
		if err != nil {
			return
		}
		opened.Add(1)
		nc := websocket.NetConn(r.Context(), ws, websocket.MessageBinary)
		defer nc.Close()
		_, _ = io.Copy(nc, wsstream.NewReader(r.Context(), ws)) // an echo until the client's "eof"
	}))
	t.Cleanup(srv.Close)
	return srv, &opened
}

func testClient(t *testing.T, srv *httptest.Server, stderr io.Writer) *connectClient {
	t.Helper()
	base, err := appBase(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newConnectClient(base, "", "", stderr)
	if err != nil {
		t.Fatal(err)
	}
	c.http.Transport = srv.Client().Transport
	return c
}

// echo sends msg through a listening client and reads it back.
func echo(t *testing.T, addr, msg string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	return string(buf)
}

// Without a token the client signs in through the "browser" (the real
// CLI endpoints), caches the token (0600 in a 0700 directory), carries
// connections with it, and reuses it from the cache next time.
func TestConnectBrowserSignIn(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	var status atomic.Int32
	srv, opened := testGateway(t, &status)
	var stderr syncBuffer
	c := testClient(t, srv, &stderr)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Transport: addKey{srv.Client().Transport}}
	var opens atomic.Int32
	c.openBrowser = func(u string) error {
		opens.Add(1)
		go func() {
			resp, err := browser.Get(u)
			if err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	if err := c.fixToken("", ""); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.serve(ctx, addr) }()
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "listening on") })
	if got := echo(t, addr, "hello"); got != "hello" || opens.Load() != 1 || opened.Load() != 1 {
		t.Fatalf("echo %q, browser opened %d times, connections %d", got, opens.Load(), opened.Load())
	}
	if got := echo(t, addr, "again"); got != "again" || opens.Load() != 1 {
		t.Fatalf("second connection: echo %q, browser opened %d times; want the token reused", got, opens.Load())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(c.cacheFile)
	di, _ := os.Stat(filepath.Dir(c.cacheFile))
	if err != nil || fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("cache file %s: %v, mode %v, directory %v", c.cacheFile, err, fi.Mode(), di.Mode())
	}
	if strings.Contains(stderr.String(), c.token) {
		t.Fatal("the token was printed")
	}
	c2 := testClient(t, srv, &stderr)
	c2.openBrowser = func(string) error { t.Error("the browser opened with a cached token"); return nil }
	if err := c2.fixToken("", ""); err != nil || c2.token != c.token {
		t.Fatalf("the cached token was not read: %v", err)
	}
	conn, err := c2.open(t.Context())
	if err != nil {
		t.Fatalf("a connection with the cached token: %v", err)
	}
	conn.Close()
}

// The gateway's refusals become clear errors; a given token is never
// swapped for a browser sign-in.
func TestConnectRefusals(t *testing.T) {
	var status atomic.Int32
	srv, _ := testGateway(t, &status)
	c := testClient(t, srv, io.Discard)
	c.openBrowser = func(string) error { t.Error("the browser opened with --token"); return nil }
	if err := c.fixToken("not-a-session", ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status int32
		want   string
	}{
		{0, "refused the token (401)"},
		{http.StatusForbidden, "access denied to https://127.0.0.1"},
		{http.StatusNotFound, "is not a TCP app"},
		{http.StatusBadGateway, "answered 502"},
	} {
		status.Store(tc.status)
		_, err := c.open(t.Context())
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "not-a-session") {
			t.Errorf("status %d: %v; want %q", tc.status, err, tc.want)
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for range 3000 {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out waiting")
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The end of standard input reaches the gateway as the "eof" message:
// the echo then ends, and so does the --stdio connection, with every
// byte echoed first.
func TestConnectStdioHalfClose(t *testing.T) {
	var status atomic.Int32
	srv, _ := testGateway(t, &status)
	c := testClient(t, srv, io.Discard)
	c.http.Transport = addKey{srv.Client().Transport}
	if err := c.fixToken("unused", ""); err != nil { // the key rides in addKey
		t.Fatal(err)
	}
	msg := strings.Repeat("half-close ", 10000)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- c.carry(t.Context(), stdioConn{strings.NewReader(msg), &out}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the connection did not end after standard input did: no half-close")
	}
	if out.String() != msg {
		t.Fatalf("echoed %d bytes, want %d", out.Len(), len(msg))
	}
}
