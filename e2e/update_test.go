package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/release"
)

// failedPhases end a connector's update in the rollout log.
var failedPhases = []string{"refused", "trial_failed", "rolled_back", "failed", "timeout", "error"}

// updLoad GETs app.localhost with 8 clients until stop; it counts failures.
type updLoad struct {
	ok, failed atomic.Int64
	failures   logBuffer
	stop       func()
}

func startUpdLoad(t *testing.T, c *http.Client) *updLoad {
	l := &updLoad{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				q := fmt.Sprintf("w=%d&i=%d", w, i)
				req, _ := http.NewRequest(http.MethodGet, "https://app.localhost/hit?"+q, nil)
				r, err := do(t, c, req)
				if err != nil || r.Status != http.StatusOK || r.Body != "hit "+q {
					l.failed.Add(1)
					fmt.Fprintf(&l.failures, "%s: err=%v status=%d body=%.80q\n", q, err, r.Status, r.Body)
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	l.stop = sync.OnceFunc(func() { close(done); wg.Wait() })
	t.Cleanup(l.stop)
	return l
}

// releaseAdd runs 'gatehouse release add BIN --release FILE'.
func (s *updateSetup) releaseAdd(t *testing.T, name, bin string) (string, int) {
	t.Helper()
	out, errOut, code := runCmd(t, s.g.dir, gatehouseBin, "release", "add", "--config", s.g.configPath,
		"--release", s.kit.releaseFiles[name], bin)
	return out + errOut, code
}

// TestUpdateRolloutUnderLoad: 3 connectors in one group go v1 -> v2 one
// at a time under steady load, with no failed request.
func TestUpdateRolloutUnderLoad(t *testing.T) {
	s := startUpdateSetup(t, 3, "      policy: auto\n")
	pids := make([]int, len(s.cons))
	for i, c := range s.cons {
		pids[i] = c.pid()
	}
	l := startUpdLoad(t, s.g.client(false))
	eventually(t, "the load to run", func() bool { return l.ok.Load() >= 200 })
	if out, code := s.releaseAdd(t, "v2", s.kit.bins["v2.0.0"]); code != 0 {
		t.Fatalf("release add v2 exited %d: %s", code, out)
	}
	s.waitStep(t, "", "complete")
	eventually(t, "every connector on v2.0.0", func() bool { return s.allOn("v2.0.0") })
	okBefore := l.ok.Load()
	eventually(t, "requests after the rollout", func() bool { return l.ok.Load() >= okBefore+100 })
	l.stop()
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during the rollout; first:\n%s", n, n+l.ok.Load(), l.failures.tail(2<<10))
	}
	for id, c := range s.connectorsJSON(t) {
		if c.Version != "v2.0.0" || c.Update == nil || c.Update.State != "updated" {
			t.Errorf("connector %s after the rollout: version %q, update %+v", id, c.Version, c.Update)
		}
	}
	maxBusy, per := concurrency(t, s.steps())
	for _, st := range s.steps() {
		t.Logf("rollout step %s %s %s %s %s", st.Time.Format("15:04:05.000000"), st.Connector, st.Phase, st.Version, st.E)
	}
	for i, c := range s.cons {
		c.requireAlive(t)
		want := filepath.Join(c.state, "releases", "v2.0.0", "gatehouse-connector")
		if c.pid() != pids[i] || exeOf(t, c.pid()) != want {
			t.Errorf("%s: pid %d (was %d) runs %s, want the re-exec'd %s", c.name, c.pid(), pids[i], exeOf(t, c.pid()), want)
		}
	}
	if maxBusy != 1 {
		t.Errorf("at most one connector may update at a time; the log shows %d at once", maxBusy)
	}
	fmt.Printf("\nconnector update under load (3 connectors, 8 clients, v1.0.0 -> v2.0.0)\n")
	fmt.Printf("  %-28s %d ok, %d failed\n  %-28s %d\n", "requests", l.ok.Load(), l.failed.Load(), "max concurrently updating", maxBusy)
	for i, id := range s.ids {
		fmt.Printf("  %-28s %v (pid %d kept)\n", "sent -> done "+s.cons[i].name, per[id].Round(time.Millisecond), pids[i])
	}
}

// concurrency replays the rollout log: the most connectors between
// "sent" and their end at any moment, and each one's sent -> done time.
func concurrency(t *testing.T, steps []rolloutStep) (int, map[string]time.Duration) {
	t.Helper()
	busy, maxBusy := map[string]time.Time{}, 0
	per := map[string]time.Duration{}
	for _, st := range steps {
		switch {
		case st.Phase == "sent":
			busy[st.Connector] = st.Time
			maxBusy = max(maxBusy, len(busy))
		case st.Phase == "done" || slices.Contains(failedPhases, st.Phase):
			if sent, ok := busy[st.Connector]; ok {
				per[st.Connector] = st.Time.Sub(sent)
			}
			delete(busy, st.Connector)
		}
	}
	return maxBusy, per
}

// TestUpdateBadReleaseRolledBack: a release whose binary exits at start
// fails its trial; the connector keeps serving on v1 and the rollout
// stops, visibly.
func TestUpdateBadReleaseRolledBack(t *testing.T) {
	s := startUpdateSetup(t, 2, "      policy: auto\n")
	if out, code := s.releaseAdd(t, "v3-bad", s.kit.bins["v3.0.0"]); code != 0 {
		t.Fatalf("release add v3 exited %d: %s", code, out)
	}
	fail := s.waitStep(t, "", "trial_failed")
	stop := s.waitStep(t, fail.Connector, "stopped")
	i := slices.Index(s.ids, fail.Connector)
	if i < 0 {
		t.Fatalf("trial_failed for an unknown connector %q", fail.Connector)
	}
	c := s.cons[i]
	c.requireAlive(t)
	if exe := exeOf(t, c.pid()); exe != s.kit.bins["v1.0.0"] {
		t.Errorf("%s runs %s after the failed trial, want v1 %s", c.name, exe, s.kit.bins["v1.0.0"])
	}
	if slices.Contains(releasesDirEntries(t, c.state), "v3.0.0") {
		t.Errorf("%s kept the failed release: %v", c.name, releasesDirEntries(t, c.state))
	}
	for j, other := range s.cons {
		if j != i {
			other.kill() // the failed one alone must serve
		}
	}
	waitServing(t, s.g.client(false), "https://app.localhost/hit")
	for _, st := range s.steps() {
		if st.Phase == "sent" && st.Version == "v3.0.0" && st.Connector != fail.Connector {
			t.Errorf("the rollout went on to %s after the failure", st.Connector)
		}
	}
	cli := s.g.connectorsCLI()
	if !strings.Contains(cli, "failed") || !strings.Contains(cli, "v3.0.0") {
		t.Errorf("gatehouse connectors does not show the failed update:\n%s", cli)
	}
	t.Logf("gatehouse connectors:\n%s", cli)
	u := s.connectorsJSON(t)[fail.Connector].Update
	if u == nil || u.State != "failed" || u.Phase != "trial_failed" || u.Error == "" {
		t.Errorf("gatehouse connectors --json: update of %s is %+v, want failed/trial_failed with the error", fail.Connector, u)
	}
	t.Logf("trial failed: %s; %s", fail.E, stop.E)
}

// storeRelease writes r with binary bin straight into the gateway's
// store, as a compromised gateway could, without 'release add's checks.
func (s *updateSetup) storeRelease(t *testing.T, name string, bin []byte) string {
	t.Helper()
	b, err := os.ReadFile(s.kit.releaseFiles[name])
	if err != nil {
		t.Fatal(err)
	}
	var r release.Release
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m, err := release.ParseManifest(r.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(s.g.configPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), cfg.Store.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := releases.Put(t.Context(), st, r, bin); err != nil {
		t.Fatal(err)
	}
	return m.Version
}

// requestUpdate runs 'gatehouse connectors update --group default --version v'
// and returns the rollout line of the connector that was sent it.
func (s *updateSetup) requestUpdate(t *testing.T, v string) rolloutStep {
	t.Helper()
	out, errOut, code := runCmd(t, s.g.dir, gatehouseBin, "connectors", "update", "--config", s.g.configPath,
		"--group", "default", "--version", v)
	if code != 0 {
		t.Fatalf("connectors update --version %s exited %d: %s%s", v, code, out, errOut)
	}
	return s.waitAnswer(t, v)
}

// waitAnswer waits for the first rollout line about version v that ends
// a connector's update or reports its progress (not "sent").
func (s *updateSetup) waitAnswer(t *testing.T, v string) rolloutStep {
	t.Helper()
	var got rolloutStep
	eventuallyWithin(t, 3*waitFor, "the connector's answer to "+v, func() bool {
		for _, st := range s.steps() {
			if st.Version == v && st.Connector != "" && st.Phase != "sent" && st.Phase != "stopped" {
				got = st
				return true
			}
		}
		return false
	})
	return got
}
