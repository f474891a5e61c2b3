package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestPublicPortBadInput: oversized headers get 431; clients that connect
// and then stall (no TLS handshake, or half a request line) neither block
// other clients nor stay connected forever; plain HTTP on the HTTPS port
// is refused. The gateway stays up and serving throughout.
func TestPublicPortBadInput(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	cfg := oneApp(be.URL)
	cfg.LogLevel = "debug" // the public listener logs handshake errors at debug
	g := startGateway(t, cfg)
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

	// Stalled clients first; they stay open while the rest runs.
	silent := dialTCP(t, g.public) // TCP only, never a ClientHello
	halfRequest := tls.Client(dialTCP(t, g.public), &tls.Config{ServerName: "app.localhost", RootCAs: g.caPool()})
	write(t, halfRequest, []byte("GET /hit HT"))

	t.Run("100 KiB of headers is 431", func(t *testing.T) {
		before := be.hits.Load()
		req := mustRequest(t, "https://app.localhost/hit")
		for i := range 100 {
			req.Header.Set(fmt.Sprintf("X-Big-%03d", i), strings.Repeat("v", 1024))
		}
		r, err := do(t, c, req)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("got %d, want 431", r.Status)
		}
		if n := be.hits.Load() - before; n != 0 {
			t.Fatalf("the backend saw %d requests; the oversized one must not reach it", n)
		}
	})
	t.Run("plain HTTP on the HTTPS port", func(t *testing.T) {
		conn := dialTCP(t, g.public)
		write(t, conn, []byte("GET /hit HTTP/1.1\r\nHost: app.localhost\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("want a 400 for plain HTTP, got %v %v", resp, err)
		}
		requireClosedByPeer(t, conn)
	})
	t.Run("others are served while clients stall", func(t *testing.T) {
		before := be.hits.Load()
		for range 20 {
			if r := get(t, c, "https://app.localhost/hit"); r.Status != http.StatusOK {
				t.Fatalf("GET /hit: %d %s", r.Status, r.Body)
			}
		}
		if n := be.hits.Load() - before; n != 20 {
			t.Fatalf("backend hits: %d, want 20", n)
		}
	})
	t.Run("stalled clients are disconnected", func(t *testing.T) {
		requireClosedByPeer(t, silent)
		requireClosedByPeer(t, halfRequest)
		g.log().waitLines(t, "the stalled handshake logged", 1, "TLS handshake error from "+silent.LocalAddr().String())
	})
	g.proc.requireAlive(t)
	waitServing(t, c, "https://app.localhost/hit")
}
