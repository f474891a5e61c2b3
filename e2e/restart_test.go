package e2e

import (
	"testing"
)

// TestGatewayRestart stops the gateway with SIGTERM and starts it again on
// the same ports and data directory: the connector, left running,
// reconnects by itself and the app answers again.
func TestGatewayRestart(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	conn := enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

	g.stop()
	conn.log.waitLines(t, "the connector to notice the gateway is gone", 1, "tunnel down; reconnecting")
	if r, err := do(t, c, mustRequest(t, "https://app.localhost/hit")); err == nil {
		t.Fatalf("the stopped gateway still answered: %d %s", r.Status, r.Body)
	}

	g.start()
	conn.waitReady(t, 4) // two tunnels before, two after
	waitServing(t, c, "https://app.localhost/hit")
	conn.requireAlive(t)
	g.log().waitLines(t, "the new gateway to attach the connector", 2, "connector session ready", "connector="+conn.id(t))
}
