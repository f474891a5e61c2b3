package e2e

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// TestSlowClientsInBoundedMemory downloads through the gateway with three
// clients that read slower than the tunnel delivers, as clients on slow
// links do, so the gateway holds each stream's unread data. A stream
// buffers at most one window (tunnel.StreamWindow) of data, in a yamux
// bytes.Buffer that can grow to twice that; with the garbage collector's
// headroom (GOGC=100) and the arrays a growing buffer leaves behind, RSS
// may grow by up to 8 windows per slow stream. That bound must hold: a
// gateway that buffered whole responses would need 288 MiB here.
func TestSlowClientsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: moves 288 MiB to slow readers")
	}
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

	const clients, size = 3, 96 << 20
	base := vmHWM(t, g.proc.pid())
	limit := base + clients*8*tunnel.StreamWindow
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://app.localhost/bytes/100663296", nil)
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			n, err := drainSlowly(resp.Body)
			if err == nil && n != size {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("slow download: %v", err)
	}
	g.proc.requireAlive(t)
	hwm := vmHWM(t, g.proc.pid())
	t.Logf("gateway peak RSS (VmHWM): %.1f MiB before, %.1f MiB after %d slow readers of %d MiB (limit %.1f MiB)",
		mib(base), mib(hwm), clients, size>>20, mib(limit))
	if hwm >= limit {
		t.Errorf("gateway peak RSS %.1f MiB is over %.1f MiB: %d slow streams cost %.1f MiB each, the window is %d MiB",
			mib(hwm), mib(limit), clients, mib(hwm-base)/clients, tunnel.StreamWindow>>20)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// drainSlowly reads r to the end in 256 KiB steps with a 5 ms pause after
// each (at most ~50 MB/s): a client slower than the tunnel.
func drainSlowly(r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		total += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}
