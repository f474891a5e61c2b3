package update

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/tunnel"
)

// installed puts version in place as current, confirmed, as a finished
// update leaves it.
func (f *fixture) installed(running, version string) {
	f.t.Helper()
	if _, err := f.apply(f.updater(running), f.update(f.priv, version, f.bin), f.bin); err != nil {
		f.t.Fatal(err)
	}
	if err := Confirm(f.state); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.drains = 0
	f.mu.Unlock()
}

// A release whose trial fails, or never passes, is removed; current
// stays; the report carries the trial's last output.
func TestTrialFailureKeepsCurrent(t *testing.T) {
	for _, mode := range []string{"fail", "hang"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			f.installed("v1.0.0", "v2.0.0")
			t.Setenv(fakeTrial, mode)
			upd := f.update(f.priv, "v3.0.0", f.bin)
			upd.TrialTimeoutMillis = 300
			u := f.updater("v2.0.0")
			phases, err := f.apply(u, upd, f.bin)
			if err == nil {
				t.Fatal("a failing trial was applied")
			}
			want := []string{tunnel.PhaseDownloading, tunnel.PhaseTrial, tunnel.PhaseTrialFailed}
			if !slices.Equal(phases, want) {
				t.Fatalf("phases %q; want %q", phases, want)
			}
			msg := f.last().Error
			if mode == "fail" && !strings.Contains(msg, "boom: this release cannot start") ||
				mode == "hang" && !strings.Contains(msg, "did not pass") {
				t.Fatalf("error %q lacks the trial's failure", msg)
			}
			if got, want := f.listing(), []string{"current -> v2.0.0", "v2.0.0"}; !slices.Equal(got, want) {
				t.Fatalf("releases holds %q; want %q", got, want)
			}
			if f.drains != 0 || u.Pending() {
				t.Fatal("a failed trial drained the connector")
			}
		})
	}
}

// A release that never confirms is rolled back by the third start: to
// previous, or to the installed binary when there is none; the rollback
// is reported once.
func TestProbationRollsBack(t *testing.T) {
	f := newFixture(t)
	f.installed("v1.0.0", "v2.0.0")
	if _, err := f.apply(f.updater("v2.0.0"), f.update(f.priv, "v3.0.0", f.bin), f.bin); err != nil {
		t.Fatal(err)
	}
	// The update's exec counted launch 1; the new process's own launcher
	// does not count again.
	t.Setenv(LaunchedEnv, "v3.0.0")
	if _, _, ok := f.launch("v3.0.0"); ok {
		t.Fatal("the exec'd release execs again")
	}
	t.Setenv(LaunchedEnv, "")
	if p, _ := readProbation(f.dir); p.Launches != 1 {
		t.Fatalf("probation %+v after the exec'd process's launcher; want 1 launch", p)
	}
	// It crashes; the service manager starts the installed v1 binary.
	if _, v, ok := f.launch("v1.0.0"); !ok || v != "v3.0.0" {
		t.Fatalf("second start: %q %v; want v3.0.0 again", v, ok)
	}
	if p, _ := readProbation(f.dir); p.Launches != 2 {
		t.Fatalf("probation %+v; want 2 launches", p)
	}
	path, v, ok := f.launch("v1.0.0")
	if !ok || v != "v2.0.0" || path != filepath.Join(f.dir, "v2.0.0", BinaryName) {
		t.Fatalf("third start: %q %q %v; want a rollback to v2.0.0", path, v, ok)
	}
	if got, want := f.listing(), []string{"current -> v2.0.0", "status.json", "v2.0.0"}; !slices.Equal(got, want) {
		t.Fatalf("releases holds %q; want %q", got, want)
	}
	u := f.updater("v2.0.0")
	st := u.Ready()
	if st == nil || st.Phase != tunnel.PhaseRolledBack || st.Version != "v3.0.0" || !strings.Contains(st.Error, "rolled back to v2.0.0") {
		t.Fatalf("reported %+v; want rolled_back of v3.0.0", st)
	}
	if again := u.Ready(); again != nil {
		t.Fatalf("reported twice: %+v", again)
	}
	if st := TakeStatus(f.state); st != nil {
		t.Fatalf("the status stayed: %+v", st)
	}

	// v2 itself goes on probation with no previous, and never confirms:
	// the installed binary runs.
	if err := writeJSON(filepath.Join(f.dir, probFile), Probation{Version: "v2.0.0", Launches: 2}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := f.launch("v1.0.0"); ok {
		t.Fatal("launched a release after rolling back to the installed binary")
	}
	if got, want := f.listing(), []string{"status.json"}; !slices.Equal(got, want) {
		t.Fatalf("releases holds %q; want %q", got, want)
	}
}

// An update stopped after any step of writing and swapping leaves a
// current that launches (the old release, or the new one once current
// moved), and a start removes what the stop left.
func TestInterruptedSwapLeavesWorkingCurrent(t *testing.T) {
	f := newFixture(t)
	f.installed("v1.0.0", "v2.0.0")
	upd := f.update(f.priv, "v3.0.0", f.bin)
	steps := []struct {
		name string
		do   func() error
		want string // the release launched after it
	}{
		{"partial temp dir", func() error {
			tmp := filepath.Join(f.dir, tmpPrefix+"123")
			if err := os.MkdirAll(tmp, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(tmp, BinaryName), f.bin[:len(f.bin)/3], 0o755)
		}, "v2.0.0"},
		{"renamed into place", func() error {
			return writeRelease(f.dir, Stored{Release: upd.Release}, "v3.0.0", f.bin)
		}, "v2.0.0"},
		{"probation written", func() error {
			if err := writeRelease(f.dir, Stored{Release: upd.Release}, "v3.0.0", f.bin); err != nil {
				return err
			}
			return writeJSON(filepath.Join(f.dir, probFile), Probation{Version: "v3.0.0", Launches: 1})
		}, "v2.0.0"},
		{"previous moved", func() error { return setLink(f.dir, prevLink, "v2.0.0") }, "v2.0.0"},
		{"temp link made", func() error { return os.Symlink("v3.0.0", filepath.Join(f.dir, tmpPrefix+currentLink)) }, "v2.0.0"},
		{"current moved", func() error {
			if err := writeRelease(f.dir, Stored{Release: upd.Release}, "v3.0.0", f.bin); err != nil {
				return err
			}
			if err := writeJSON(filepath.Join(f.dir, probFile), Probation{Version: "v3.0.0", Launches: 1}); err != nil {
				return err
			}
			return setLink(f.dir, currentLink, "v3.0.0")
		}, "v3.0.0"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		_, v, ok := f.launch("v1.0.0")
		if !ok || v != s.want {
			t.Fatalf("stopped after %s: Launch = %q %v; want %s", s.name, v, ok, s.want)
		}
		for _, n := range f.listing() {
			if strings.HasPrefix(n, ".") {
				t.Fatalf("stopped after %s: %s left behind (%q)", s.name, n, f.listing())
			}
		}
		if s.want == "v2.0.0" && slices.Contains(f.listing(), "probation.json") {
			t.Fatalf("stopped after %s: a probation for a release never swapped in stays", s.name)
		}
	}
	if got, want := f.listing(), []string{"current -> v3.0.0", "previous -> v2.0.0", "probation.json", "v2.0.0", "v3.0.0"}; !slices.Equal(got, want) {
		t.Fatalf("releases holds %q; want %q", got, want)
	}
}
