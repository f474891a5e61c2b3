package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/fastpath"
)

// TestFastPathSwitch: both binaries take the fast-path switch from
// GATEHOUSE_FAST_PATHS, which they inherit from this test process (make
// test-e2e-plain runs the whole suite with it off), and say at start which
// fast paths run; a request goes through either way, over HTTP/1.1 and
// HTTP/2. The config's fast_paths: false turns the gateway's off, whatever
// the environment says. (Which server and transports each setting builds
// is checked in core/gateway, core/proxy and connector.)
func TestFastPathSwitch(t *testing.T) {
	want, err := fastpath.FromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	c := enrollConnector(t, g, "c1", "default")
	requireFastPaths(t, &g.proc.log, `msg="gateway serving"`, want.String())
	requireFastPaths(t, &c.log, `msg="connector starting"`, want.String())
	for _, h2 := range []bool{false, true} {
		cl := g.client(h2)
		waitServing(t, cl, "https://app.localhost/hit")
		for _, n := range []int{100, 3 * blockSize} { // the lean relay and client, and a body of many records
			if r := get(t, cl, "https://app.localhost/bytes/"+strconv.Itoa(n)); r.Status != 200 || len(r.Body) != n || (r.Proto == 2) != h2 {
				t.Fatalf("h2=%v: /bytes/%d = %d with %d bytes over HTTP/%d", h2, n, r.Status, len(r.Body), r.Proto)
			}
		}
	}

	text, err := os.ReadFile(g.configPath)
	if err != nil {
		t.Fatal(err)
	}
	g.stop()
	g.writeConfigText(string(text) + "fast_paths: false\n")
	g.start()
	requireFastPaths(t, &g.proc.log, `msg="gateway serving"`, "none")
	waitServing(t, g.client(false), "https://app.localhost/hit")
}

// requireFastPaths waits for the start line (containing msg) in log and
// checks that it names exactly the fast paths want (its last field).
func requireFastPaths(t *testing.T, log *logBuffer, msg, want string) {
	t.Helper()
	l := log.waitLines(t, "the start line "+msg, 1, msg)[0]
	if _, got, _ := strings.Cut(l, " fast_paths="); got != want {
		t.Fatalf("start line says fast_paths=%q, want %q:\n%s", got, want, l)
	}
}
