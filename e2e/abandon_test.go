package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestAbandonedDownloadStopsBackend checks that a client that goes away in
// the middle of an endless download makes the connector cancel the backend
// request (the gateway closes the stream early; the connector's watcher
// sees it), instead of the tunnel pulling data nobody reads.
func TestAbandonedDownloadStopsBackend(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := "http1"
		if h2 {
			name = "http2"
		}
		t.Run(name, func(t *testing.T) {
			started := make(chan struct{}, 1)
			cancelled := make(chan struct{}, 1)
			be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/endless" {
					w.Write([]byte("ok"))
					return
				}
				started <- struct{}{}
				chunk := make([]byte, 64<<10)
				for {
					if _, err := w.Write(chunk); err != nil {
						break
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						cancelled <- struct{}{}
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
				<-r.Context().Done()
				cancelled <- struct{}{}
			}))
			t.Cleanup(be.Close)
			g := startGateway(t, oneApp(be.URL))
			enrollConnector(t, g, "connector", "default")
			c := g.client(h2)
			waitServing(t, c, "https://app.localhost/")

			resp, err := c.Get("https://app.localhost/endless")
			if err != nil {
				t.Fatal(err)
			}
			<-started
			if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
				t.Fatalf("reading the first MiB: %v", err)
			}
			resp.Body.Close() // the client gives up
			c.CloseIdleConnections()
			select {
			case <-cancelled:
			case <-time.After(30 * time.Second):
				t.Fatal("the backend request was not cancelled 30 s after the client went away")
			}
			g.proc.requireAlive(t)
			if r := get(t, c, "https://app.localhost/"); r.Status != http.StatusOK {
				t.Fatalf("after the abandoned download: status %d", r.Status)
			}
		})
	}
}
