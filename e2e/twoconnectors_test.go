package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// twoConnectorLoad is one app behind a gateway (heartbeat 1s, inactive 3s)
// served by two enrolled connectors, with 8 clients GETting it until stop.
type twoConnectorLoad struct {
	g        *gatewayProc
	a, b     *connectorProc
	aID, bID string
	be       *backend

	ok, failed atomic.Int64
	failures   logBuffer // one line per failed GET
	stop       func()    // stops the clients and waits for them; safe to call twice
}

// startTwoConnectorLoad starts the gateway and connector-a and connector-b,
// waits for both to attach, starts the load and returns once both
// connectors relay requests. stop is also registered with t.Cleanup.
func startTwoConnectorLoad(t *testing.T) *twoConnectorLoad {
	t.Helper()
	l := &twoConnectorLoad{be: newBackend(t)}
	cfg := oneApp(l.be.URL)
	cfg.Heartbeat, cfg.InactiveAfter = "1s", "3s"
	l.g = startGateway(t, cfg)
	l.a = enrollConnector(t, l.g, "connector-a", "default")
	l.b = enrollConnector(t, l.g, "connector-b", "default")
	l.aID, l.bID = l.a.id(t), l.b.id(t)
	l.g.log().waitLines(t, "connector-a's sessions attached", 2, "connector session ready", "connector="+l.aID)
	l.g.log().waitLines(t, "connector-b's sessions attached", 2, "connector session ready", "connector="+l.bID)
	c := l.g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

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
					l.failed.Add(1)
					fmt.Fprintf(&l.failures, "%s: err=%v status=%d body=%q\n", query, err, r.Status, r.Body)
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	l.stop = sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(l.stop)
	eventually(t, "both connectors to relay requests", func() bool {
		return l.ok.Load() >= 200 && connectedTo(t, l.a.pid(), l.be.Port) && connectedTo(t, l.b.pid(), l.be.Port)
	})
	return l
}

// firstFailures returns the first ten lines of the failures log.
func (l *twoConnectorLoad) firstFailures() string {
	lines := strings.SplitN(l.failures.String(), "\n", 11)
	return strings.Join(lines[:min(len(lines), 10)], "\n")
}
