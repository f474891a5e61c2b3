package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/internal/wsstream"
)

// gatehouse connect carries local TCP connections to a TCP app: each one
// is a WebSocket (subprotocol reserved.TCPProtocol) at reserved.TCP on
// the app's host, authorised by "Authorization: Bearer": a --token, or a
// CLI session token from the browser sign-in (connect_signin.go), cached
// per host.

// connectClient is one app's client.
type connectClient struct {
	base      *url.URL // https://HOST
	http      *http.Client
	stderr    io.Writer
	fixed     bool   // the token is --token / --token-file: never sign in
	noBrowser bool   // print the sign-in address, do not open it
	device    bool   // sign in with the device-code flow (connect_device.go)
	cacheFile string // "" with a fixed token
	// openBrowser opens a URL (xdg-open); tests replace it.
	openBrowser func(string) error

	mu    sync.Mutex // one sign-in at a time
	token string
}

// errRefused is an answer of the gateway that trying again will not change.
type errRefused struct{ msg string }

func (e errRefused) Error() string { return e.msg }

func connectCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse connect", flag.ContinueOnError) // no --config: it runs on a user's machine
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "carry each connection to this loopback address:port, e.g. 127.0.0.1:2222")
	stdio := fs.Bool("stdio", false, "carry standard input and output (one connection; for an SSH ProxyCommand)")
	token := fs.String("token", "", "send this token as Authorization: Bearer (scripts); no browser sign-in")
	tokenFile := fs.String("token-file", "", "read the bearer token from this file")
	noBrowser := fs.Bool("no-browser", false, "print the sign-in address instead of opening a browser")
	device := fs.Bool("device", false, "sign in with a code approved in a browser on any device (no browser here)")
	caFile := fs.String("ca-file", "", "trust this PEM CA for the gateway too (a private CA)")
	connectTo := fs.String("connect-to", "", "dial this host:port instead of the app's host (one gateway node, a load balancer); TLS and Host stay the app's")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("connect: give one APP_URL, e.g. 'gatehouse connect https://ssh.example.com --stdio'")
	}
	if (*listen == "") == !*stdio {
		return usageError("connect: give one of --listen 127.0.0.1:PORT or --stdio")
	}
	if *token != "" && *tokenFile != "" {
		return usageError("connect: give --token or --token-file, not both")
	}
	if *device && (*token != "" || *tokenFile != "") {
		return usageError("connect: --device signs in; with --token or --token-file there is no sign-in")
	}
	base, err := appBase(pos[0])
	if err != nil {
		return usageError("connect: " + err.Error())
	}
	if *listen != "" {
		if err := loopbackAddr(*listen); err != nil {
			return usageError("connect: --listen " + err.Error())
		}
	}
	if *connectTo != "" {
		if _, _, err := net.SplitHostPort(*connectTo); err != nil {
			return usageError(fmt.Sprintf("connect: --connect-to %q: want host:port", *connectTo))
		}
	}
	c, err := newConnectClient(base, *caFile, *connectTo, stderr)
	if err != nil {
		return err
	}
	c.noBrowser, c.device = *noBrowser, *device
	if err := c.fixToken(*token, *tokenFile); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stdio {
		return c.carry(ctx, stdioConn{stdin, stdout})
	}
	return c.serve(ctx, *listen)
}

// appBase checks an APP_URL: https://HOST[:PORT], nothing after the host.
func appBase(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%q is not an app address; write https://HOST", s)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%q: the app address must be https://", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%q: write the app's host only (https://HOST), without a path or query", s)
	}
	return &url.URL{Scheme: "https", Host: u.Host}, nil
}

// loopbackAddr checks --listen: a loopback IP and a port; anything else
// would hand the user's session to whoever can reach the port.
func loopbackAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("%q: want 127.0.0.1:PORT", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q: listen on a loopback address (127.0.0.1 or [::1]) only: anyone who can reach the port uses your session", addr)
	}
	return nil
}

func newConnectClient(base *url.URL, caFile, connectTo string, stderr io.Writer) (*connectClient, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", caFile)
		}
		tc.RootCAs = pool
	}
	tr := &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 15 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second, ForceAttemptHTTP2: false}
	if connectTo != "" {
		d := &net.Dialer{Timeout: 15 * time.Second}
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, connectTo)
		}
	}
	c := &connectClient{base: base, stderr: stderr, openBrowser: xdgOpen,
		http: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return c, nil
}

// fixToken takes --token or --token-file; without either the token comes
// from the cache, else from a browser sign-in.
func (c *connectClient) fixToken(token, file string) error {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return fmt.Errorf("--token-file %s is empty", file)
		}
	}
	if token != "" {
		c.token, c.fixed = token, true
		return nil
	}
	var err error
	if c.cacheFile, err = cachePath(c.base.Host); err != nil {
		return err
	}
	c.token = readCachedToken(c.cacheFile, time.Now())
	return nil
}

// serve carries every connection to addr until ctx ends.
func (c *connectClient) serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", addr, err)
	}
	fmt.Fprintf(c.stderr, "gatehouse: listening on %s for %s\n", ln.Addr(), c.base)
	go func() { <-ctx.Done(); ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("--listen %s: %w", addr, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.carry(ctx, conn); err != nil {
				fmt.Fprintf(c.stderr, "gatehouse: connection from %s: %v\n", conn.RemoteAddr(), err)
			}
		}()
	}
}

// carry opens a connection to the app and copies local both ways until
// either side ends.
func (c *connectClient) carry(ctx context.Context, local io.ReadWriteCloser) error {
	defer local.Close()
	remote, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer remote.Close()
	done := make(chan struct{})
	go func() { // app → local: its end ends the connection
		_, _ = io.CopyBuffer(local, remote, make([]byte, 32<<10))
		if cw, ok := local.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		close(done)
	}()
	// local → app. The local end is a half-close: the "eof" message
	// (wsstream) reaches the backend as one, and its answer is still read
	// until it closes.
	go func() {
		if _, err := io.CopyBuffer(remote, local, make([]byte, 32<<10)); err == nil {
			_ = wsstream.SendEOF(ctx, remote.ws)
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// open dials the app with the token, signing in (once, again) when the
// gateway asks for it.
func (c *connectClient) open(ctx context.Context) (*wsConn, error) {
	tok, err := c.currentToken(ctx, "")
	if err != nil {
		return nil, err
	}
	conn, err := c.dial(ctx, tok)
	if err == nil || c.fixed || !errors.Is(err, errSignIn) {
		return conn, err
	}
	if tok, err = c.currentToken(ctx, tok); err != nil {
		return nil, err
	}
	if conn, err = c.dial(ctx, tok); errors.Is(err, errSignIn) {
		return nil, errRefused{fmt.Sprintf("sign-in failed: %s refused the session just made (401); try again, or ask your IT team", c.base.Host)}
	}
	return conn, err
}

// errSignIn is a 401: the token is missing, expired or refused.
var errSignIn = errors.New("sign-in required")

// dial opens the WebSocket with tok ("" for none).
func (c *connectClient) dial(ctx context.Context, tok string) (*wsConn, error) {
	h := http.Header{}
	if tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	wsURL := "wss://" + c.base.Host + reserved.TCP
	ws, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h,
		Subprotocols: []string{reserved.TCPProtocol}, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, c.dialError(resp, err)
	}
	if ws.Subprotocol() != reserved.TCPProtocol {
		_ = ws.Close(websocket.StatusProtocolError, "subprotocol")
		return nil, errRefused{fmt.Sprintf("%s did not accept the %s protocol: is it a Gatehouse gateway?", c.base.Host, reserved.TCPProtocol)}
	}
	ws.SetReadLimit(1 << 20)
	return &wsConn{websocket.NetConn(context.WithoutCancel(ctx), ws, websocket.MessageBinary), ws}, nil
}

// wsConn is a connection to the app: its bytes, and the WebSocket for
// the "eof" message.
type wsConn struct {
	net.Conn
	ws *websocket.Conn
}

// dialError says why the gateway refused the connection.
func (c *connectClient) dialError(resp *http.Response, err error) error {
	if resp == nil {
		return fmt.Errorf("cannot reach the gateway at %s: %w", c.base.Host, err)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if c.fixed {
			return errRefused{fmt.Sprintf("sign-in failed: %s refused the token (401); get a new one, or leave out --token to sign in with a browser", c.base.Host)}
		}
		return fmt.Errorf("%w (401 from %s)", errSignIn, c.base.Host)
	case http.StatusForbidden:
		return errRefused{fmt.Sprintf("access denied to %s by policy (403): you are signed in, but the app's access policy does not let you in", c.base)}
	case http.StatusNotFound:
		return errRefused{fmt.Sprintf("%s is not a TCP app (404): gatehouse connect reaches apps published with tcp: in the gateway's config", c.base.Host)}
	}
	return fmt.Errorf("the gateway at %s answered %s: %w", c.base.Host, resp.Status, err)
}

// stdioConn is standard input and output as one connection.
type stdioConn struct {
	io.Reader
	io.Writer
}

func (s stdioConn) Close() error { return s.CloseWrite() }

// CloseWrite closes standard output, if it can be.
func (s stdioConn) CloseWrite() error {
	if c, ok := s.Writer.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
