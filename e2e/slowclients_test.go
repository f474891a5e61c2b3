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

// slowClientBudget is what one client reading slower than the tunnel may
// cost the gateway in memory, whatever the size of its download: 32 MiB.
// It is the requirement, stated on its own: RATIONALE.md ("Why a 4 MiB
// stream window?") promises 8 to 16 MiB per slow stream, and the garbage
// collector's headroom (GOGC=100) may double that. It is deliberately not
// derived from tunnel.StreamWindow: a larger window must fail this test.
const slowClientBudget = 32 << 20

// TestSlowClientsInBoundedMemory downloads through the gateway with three
// clients that read slower than the tunnel delivers, as clients on slow
// links do, so the gateway holds each stream's unread data. Each may cost
// at most slowClientBudget; a gateway that buffered whole responses would
// need 288 MiB here.
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
	if size <= 2*slowClientBudget {
		t.Fatalf("each download (%d MiB) must be well over the budget (%d MiB), or buffering it whole would pass", size>>20, slowClientBudget>>20)
	}
	limit := base + clients*slowClientBudget
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
		t.Errorf("gateway peak RSS %.1f MiB is over %.1f MiB: %d slow streams cost %.1f MiB each, over the %d MiB budget (the stream window is %d MiB)",
			mib(hwm), mib(limit), clients, mib(hwm-base)/clients, slowClientBudget>>20, tunnel.StreamWindow>>20)
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
