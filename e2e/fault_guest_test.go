package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var probeBuild struct {
	once sync.Once
	path string
	err  error
}

// probeModule builds the host's test guest (core/wasm/testdata/probe),
// whose X-Case request header picks what it does: "pass", or a fault
// ("panic" traps, "loop" never returns, "oom" allocates until its memory
// cap).
func probeModule(t testing.TB) string {
	t.Helper()
	probeBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-e2e-probe-")
		if err != nil {
			probeBuild.err = err
			return
		}
		probeBuild.path = filepath.Join(dir, "probe.wasm")
		cmd := exec.Command(goTool(), "build", "-buildmode=c-shared", "-o", probeBuild.path, "./core/wasm/testdata/probe")
		cmd.Dir = moduleRoot
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			probeBuild.err = fmt.Errorf("building the probe guest: %v\n%s", err, out)
		}
	})
	if probeBuild.err != nil {
		t.Fatal(probeBuild.err)
	}
	return probeBuild.path
}

// Fault 3: one request makes a WASM guest fail (mode: the probe's X-Case).
// That request fails closed with a 5xx page and never reaches the backend;
// the gateway stays up; the load on the same app and on another app that
// uses the same module does not fail; the next requests succeed.
func faultWasm(t *testing.T, mode string) {
	probe := probeModule(t)
	be, other := newFaultBackend(t, "app"), newFaultBackend(t, "other")
	apps := []appSpec{faultApp(t, "app", be.URL), faultApp(t, "other", other.URL)}
	for i := range apps {
		apps[i].Filters = `[{filter: probe, config: {}}]`
	}
	catalog := fmt.Sprintf("filters:\n  - {name: probe, path: %q, sha256: %s}\n", probe, fileSum(t, probe))
	g, _ := faultGateway(t, 1, apps, catalog, be, other)
	other.id.loadJWKS(t, g.client(false), "https://other.localhost/.gatehouse/jwks.json")
	pass := http.Header{"X-Case": {"pass"}}
	alice := signIn(t, g.client(false), "app.localhost", "alice")
	bob := signIn(t, g.client(false), "other.localhost", "bob")
	alice.header, bob.header = pass, pass
	l := startLoad(t, 4, func(w, i int) shot {
		if w%2 == 0 {
			return alice.get(t, fmt.Sprintf("https://app.localhost/w?w=%d&i=%d", w, i))
		}
		return bob.get(t, fmt.Sprintf("https://other.localhost/w?w=%d&i=%d", w, i))
	})
	l.waitOK(t, "load before the fault", 100)

	mallory := alice
	mallory.header = http.Header{"X-Case": {mode}}
	faultAt := time.Now()
	bad := mallory.get(t, "https://app.localhost/fault")
	l.add(bad)
	g.proc.requireAlive(t)
	l.waitRecovered(t, bad.end, 100)
	sent, failed, rec := l.summary(t, faultAt)
	g.proc.requireAlive(t)
	if bad.status < 500 || bad.status > 599 {
		t.Errorf("the %s request got %d %q, want a 5xx page", mode, bad.status, short(bad.detail, 200))
	}
	if n := be.faults.Load(); n != 0 {
		t.Errorf("the backend received the failed request %d times", n)
	}
	record(t, faultRow{Fault: "wasm guest " + mode, Sent: sent, Failed: len(failed),
		Slowest: l.slowest(faultAt), Recovery: rec.Round(time.Millisecond).String(), Lost: fmt.Sprintf("nothing; bad request %d", bad.status)})
	if len(failed) != 1 {
		t.Errorf("%d requests failed, want only the bad one:\n%s", len(failed), describe(failed))
	}
}
