package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"
)

// TestConnectorMetrics: a connector's own metrics reach a real
// Prometheus through the gateway (the connector never listens: they ride
// on its heartbeats). After its backend is stopped, the connector's
// backend-error counter for the app, kind "dial", rises by at least the
// requests that failed, labelled with the connector's id and group;
// before that its backend calls and their latency are counted.
func TestConnectorMetrics(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (make tools runs scripts/install-prometheus.sh)")
	}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer be.Close()
	base := gwConfig{Groups: []string{"default"}, Heartbeat: "1s"}
	g := startAdminGateway(t, base, []appSpec{{Name: "demo", Host: "demo.localhost", Group: "default", URL: be.URL}})
	conn := enrollConnector(t, g.gatewayProc, "connector", "default")
	id := conn.id(t)
	c := g.client(false)
	waitServing(t, c, "https://demo.localhost/warm")

	prom := startPrometheus(t, promBin, g.admin)
	labels := fmt.Sprintf(`connector=%q,group="default",app="demo"`, id)
	const n = 10
	for i := range n {
		if r := get(t, c, fmt.Sprintf("https://demo.localhost/ok/%d", i)); r.Status != 200 {
			t.Fatalf("GET %d: %d", i, r.Status)
		}
	}
	prom.wait(t, `gatehouse_connector_backend_requests_total{`+labels+`}`, n, "the connector's backend calls")
	prom.wait(t, `gatehouse_connector_backend_duration_seconds_count{`+labels+`}`, n, "the connector's backend latency")
	errs := `gatehouse_connector_backend_errors_total{` + labels + `,kind="dial"}`
	before, ok := prom.query(t, errs)
	if !ok {
		t.Fatalf("%s has no sample while the backend is up: every error kind should be exported from the first report", errs)
	}

	be.Close() // the backend stops: the connector's dials are refused
	const m = 5
	for i := range m {
		if r := get(t, c, fmt.Sprintf("https://demo.localhost/down/%d", i)); r.Status != http.StatusBadGateway {
			t.Fatalf("GET %d with the backend down: %d, want 502", i, r.Status)
		}
	}
	prom.wait(t, errs, before+m, "the connector's backend-error counter to rise after its backend stopped")
	if v := prom.value(t, `sum(gatehouse_connector_backend_errors_total{`+labels+`,kind!="dial"})`); v != 0 {
		t.Errorf("other error kinds counted %v, want 0 (a refused dial is a dial error)", v)
	}
}
