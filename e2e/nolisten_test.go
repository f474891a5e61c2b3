package e2e

import (
	"net"
	"slices"
	"strconv"
	"testing"

	"github.com/coder/websocket"
)

// TestConnectorNeverListens inspects a connector that has served HTTP and
// WebSocket traffic: none of its sockets listens (TCP LISTEN, a bound UDP
// or raw socket, a unix socket accepting connections). The same check run
// on the gateway must find its two listeners, so it cannot pass by
// finding nothing.
func TestConnectorNeverListens(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	conn := enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")
	for range 3 {
		if r := get(t, c, "https://app.localhost/headers"); r.Status != 200 {
			t.Fatalf("GET /headers: %d %s", r.Status, r.Body)
		}
	}
	wsEcho(t, c, "wss://app.localhost/ws", []wsMessage{{websocket.MessageText, []byte("ping")}})

	all := processSockets(t, conn.pid())
	if !connectedTo(t, conn.pid(), be.Port) {
		t.Fatalf("the connector holds no connection to the backend, so it served nothing; sockets: %v", all)
	}
	if l := listeningSockets(t, conn.pid()); len(l) > 0 {
		t.Fatalf("the connector listens: %v", l)
	}
	t.Logf("connector pid %d: %d sockets, none listening", conn.pid(), len(all))

	// The check itself: the gateway's listeners must be found.
	var ports []int
	for _, s := range listeningSockets(t, g.proc.pid()) {
		ports = append(ports, int(s.Local.Port()))
	}
	for _, addr := range []string{g.public, g.tunnel} {
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if !slices.Contains(ports, port) {
			t.Fatalf("the socket check did not find the gateway listening on %s (found ports %v)", addr, ports)
		}
	}
}
