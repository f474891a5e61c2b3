package e2e

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// TestTunnelPortBadInput sends the tunnel port what no connector sends.
// Each time the gateway logs why, closes the connection, and goes on
// serving.
func TestTunnelPortBadInput(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

	cases := []struct {
		name string
		talk func(t *testing.T) net.Conn // returns the connection, request sent
		log  []string                    // the gateway's log line for it
	}{
		{"garbage bytes", func(t *testing.T) net.Conn {
			conn := dialTCP(t, g.tunnel)
			write(t, conn, append([]byte{0x00, 0xff, 0x13, 0x37}, randomBytes(4096, 3)...))
			return conn
		}, []string{"tunnel handshake failed"}},
		{"plain HTTP", func(t *testing.T) net.Conn {
			conn := dialTCP(t, g.tunnel)
			write(t, conn, []byte("GET / HTTP/1.1\r\nHost: gatehouse-tunnel\r\n\r\n"))
			return conn
		}, []string{"tunnel handshake failed", "does not look like a TLS handshake"}},
		{"tunnel without client certificate", func(t *testing.T) net.Conn {
			return dialTLS(t, g.tunnel, tunnel.ProtoTunnel)
		}, []string{"tunnel refused: no client certificate"}},
		{"enrollment frame with a 4 GiB length", func(t *testing.T) net.Conn {
			conn := dialTLS(t, g.tunnel, tunnel.ProtoEnroll)
			write(t, conn, []byte{0xff, 0xff, 0xff, 0xff, '{'})
			return conn
		}, []string{"enrollment: bad request", "frame larger than 1 MiB"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn := tc.talk(t)
			requireClosedByPeer(t, conn)
			g.log().waitLines(t, "the gateway's log line", 1, append(tc.log, "remote="+conn.LocalAddr().String())...)
			g.proc.requireAlive(t)
			if r := get(t, c, "https://app.localhost/hit"); r.Status != 200 {
				t.Fatalf("the app after bad input: %d %s", r.Status, r.Body)
			}
		})
	}
}

func dialTCP(t testing.TB, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dialTLS completes a TLS handshake with ALPN proto and no client
// certificate, trusting any server certificate (the test is the bad client).
func dialTLS(t testing.TB, addr, proto string) *tls.Conn {
	t.Helper()
	conn := tls.Client(dialTCP(t, addr), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{proto}, MinVersion: tls.VersionTLS13})
	_ = conn.SetDeadline(time.Now().Add(waitFor))
	if err := conn.Handshake(); err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	if got := conn.ConnectionState().NegotiatedProtocol; got != proto {
		t.Fatalf("ALPN: got %q, want %q", got, proto)
	}
	return conn
}

func write(t testing.TB, conn net.Conn, b []byte) {
	t.Helper()
	_ = conn.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := conn.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// requireClosedByPeer reads until the peer closes the connection (EOF or
// a reset) and fails if it is still open after waitFor.
func requireClosedByPeer(t testing.TB, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(waitFor))
	_, err := io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the gateway left the connection open for %v", waitFor)
	}
}
