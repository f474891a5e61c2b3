package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
)

// TestBadReloadKeepsServing breaks the running gateway's config file and
// sends SIGHUP: the old config keeps serving and the failure is logged.
// A valid config that adds an app then takes effect without a restart,
// on SIGHUP and on a file change alone.
func TestBadReloadKeepsServing(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "second app")
	}))
	t.Cleanup(other.Close)
	cfg := oneApp(be.URL)
	g := startGateway(t, cfg)
	conn := enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")
	requireErrorPage(t, get(t, c, "https://second.localhost/"), http.StatusNotFound, "No such app")

	g.writeConfigText("listen: [this is: not valid\n  yaml: {{{\n")
	g.proc.signal(t, syscall.SIGHUP)
	g.log().waitLines(t, "the failed reload to be logged", 1, "config reload failed")
	for range 5 {
		if r := get(t, c, "https://app.localhost/hit"); r.Status != http.StatusOK {
			t.Fatalf("after a bad reload: %d %s", r.Status, r.Body)
		}
	}
	g.proc.requireAlive(t)

	cfg.Apps = append(cfg.Apps, appConf{Name: "second", Host: "second.localhost", Group: "default", URL: other.URL})
	g.writeConfig(cfg)
	g.proc.signal(t, syscall.SIGHUP)
	waitServing(t, c, "https://second.localhost/")
	if r := get(t, c, "https://second.localhost/"); r.Body != "second app" {
		t.Fatalf("second.localhost answered %q", r.Body)
	}
	if r := get(t, c, "https://app.localhost/hit"); r.Status != http.StatusOK {
		t.Fatalf("the first app after the reload: %d %s", r.Status, r.Body)
	}
	g.log().waitLines(t, "the reload to be logged", 1, "config reloaded")

	// A file change alone, without a signal, is picked up too.
	cfg.Apps = append(cfg.Apps, appConf{Name: "third", Host: "third.localhost", Group: "default", URL: other.URL})
	g.writeConfig(cfg)
	waitServing(t, c, "https://third.localhost/")
	g.log().waitLines(t, "the file-change reload to be logged", 1, "config reloaded", "trigger=\"file change\"")
	conn.requireAlive(t)
	if n := g.log().Count("gateway serving"); n != 1 {
		t.Fatalf("the gateway started %d times; a reload must not restart it", n)
	}
}
