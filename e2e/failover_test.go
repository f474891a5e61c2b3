package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestFailoverWithoutErrors runs 8 clients against an app served by two
// connectors, SIGKILLs one connector mid-load once both carry traffic, and
// requires every single request to succeed, before and after the kill.
func TestFailoverWithoutErrors(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	cfg := oneApp(be.URL)
	cfg.Heartbeat, cfg.InactiveAfter = "1s", "3s"
	g := startGateway(t, cfg)
	a := enrollConnector(t, g, "connector-a", "default")
	b := enrollConnector(t, g, "connector-b", "default")
	aID, bID := a.id(t), b.id(t)
	g.log().waitLines(t, "connector-a's sessions attached", 2, "connector session ready", "connector="+aID)
	g.log().waitLines(t, "connector-b's sessions attached", 2, "connector session ready", "connector="+bID)
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

	var ok, failed atomic.Int64
	var failures logBuffer
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				query := fmt.Sprintf("w=%d&i=%d", w, i)
				req, _ := http.NewRequest(http.MethodGet, "https://app.localhost/hit?"+query, nil)
				r, err := do(t, c, req)
				if err != nil || r.Status != http.StatusOK || r.Body != "hit "+query {
					failed.Add(1)
					fmt.Fprintf(&failures, "%s: err=%v status=%d body=%q\n", query, err, r.Status, r.Body)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)

	eventually(t, "both connectors to relay requests", func() bool {
		return ok.Load() >= 200 && connectedTo(t, a.pid(), be.Port) && connectedTo(t, b.pid(), be.Port)
	})
	beforeKill := ok.Load()
	a.kill() // SIGKILL, mid-load
	g.log().waitLines(t, "the gateway to drop connector-a", 2, "connector session closed", "connector="+aID)
	detached := ok.Load()
	eventually(t, "300 more requests after connector-a was dropped", func() bool { return ok.Load() >= detached+300 })
	stopLoad()

	b.requireAlive(t)
	retries := len(g.log().lines("retrying request on another connector"))
	t.Logf("%d requests ok (%d before the kill, %d after connector-a was dropped), %d failed, %d retried by the gateway",
		ok.Load(), beforeKill, ok.Load()-detached, failed.Load(), retries)
	if n := failed.Load(); n > 0 {
		lines := strings.SplitN(failures.String(), "\n", 11)
		t.Fatalf("%d requests failed during failover; first ones:\n%s", n, strings.Join(lines[:min(len(lines), 10)], "\n"))
	}
}
