package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// connectorProc is a connector subprocess and its state directory.
type connectorProc struct {
	*proc
	state string
}

// startConnector runs gatehouse-connector on state with extra args.
func startConnector(t testing.TB, name, state string, args ...string) *connectorProc {
	t.Helper()
	args = append([]string{"--state", state}, args...)
	return &connectorProc{proc: startProc(t, name, connectorBin, args...), state: state}
}

// enrollConnector enrolls a new connector in group with a fresh token and
// waits until both its tunnels are ready.
func enrollConnector(t testing.TB, g *gatewayProc, name, group string) *connectorProc {
	t.Helper()
	c := startConnector(t, name, filepath.Join(t.TempDir(), name), "--token", g.token(group, "1h"))
	c.waitReady(t, 2)
	return c
}

// waitReady waits until the connector logged n "tunnel ready" lines in
// total (the gateway attaches a session right after; tests that need
// traffic then poll with waitServing).
func (c *connectorProc) waitReady(t testing.TB, n int) {
	t.Helper()
	eventually(t, c.name+" tunnels to be ready", func() bool {
		c.requireAlive(t)
		return c.log.Count("msg=\"tunnel ready\"") >= n
	})
}

// id reads the connector id from its state directory.
func (c *connectorProc) id(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.state, "connector.json"))
	if err != nil {
		t.Fatalf("reading %s state: %v", c.name, err)
	}
	var st struct {
		ID string `json:"connector_id"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.ID == "" {
		t.Fatalf("%s state has no connector id (%v): %s", c.name, err, b)
	}
	return st.ID
}
