package update

import (
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/tunnel"
)

// A verified release goes through every phase, runs as a trial with the
// connector's flags (no token), becomes current with a probation, drains
// the connector, and Restart execs it with the launched mark.
func TestApplySwapsAndRestarts(t *testing.T) {
	f := newFixture(t)
	u := f.updater("v1.0.0")
	phases, err := f.apply(u, f.update(f.priv, "v2.0.0", f.bin), f.bin)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{tunnel.PhaseDownloading, tunnel.PhaseTrial, tunnel.PhaseSwapping, tunnel.PhaseRestarting}
	if !slices.Equal(phases, want) {
		t.Fatalf("phases %q; want %q", phases, want)
	}
	trial, _ := os.ReadFile(f.out)
	if got := string(trial); !strings.Contains(got, "--state "+f.state) || !strings.Contains(got, "--sessions 1") ||
		!strings.Contains(got, TrialFlag) || strings.Contains(got, "gh1_secret") {
		t.Errorf("the trial ran with %q; want --state, --sessions 1 and --trial, and no token", got)
	}
	if got, want := f.listing(), []string{"current -> v2.0.0", "probation.json", "v2.0.0"}; !slices.Equal(got, want) {
		t.Fatalf("releases holds %q; want %q", got, want)
	}
	bin := filepath.Join(f.dir, "v2.0.0", BinaryName)
	if st, err := os.Stat(bin); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("binary %v, %v; want mode 0755", st, err)
	}
	if p, err := readProbation(f.dir); err != nil || p != (Probation{Version: "v2.0.0", Launches: 1}) {
		t.Fatalf("probation %+v, %v", p, err)
	}
	if f.drains != 1 || !u.Pending() {
		t.Fatalf("drains %d, pending %v; want a drain and a pending restart", f.drains, u.Pending())
	}
	if _, err := f.apply(u, f.update(f.priv, "v3.0.0", f.bin), f.bin); err == nil || f.last().Phase != tunnel.PhaseRefused {
		t.Fatalf("a second update after a swap: %v; want refused", err)
	}
	if err := u.Restart(); err != nil {
		t.Fatal(err)
	}
	want = []string{bin, bin, "--state", f.state, "--token", "gh1_secret", "--sessions", "1", LaunchedEnv + "=v2.0.0"}
	if len(f.execs) != 1 || !slices.Equal(f.execs[0], want) {
		t.Fatalf("exec %q; want %q", f.execs, want)
	}
	// The new process's ready confirms it: no probation left.
	if st := u.Ready(); st != nil {
		t.Errorf("Ready reported %+v; want nothing", st)
	}
	if got := f.listing(); slices.Contains(got, "probation.json") {
		t.Errorf("after Ready, releases holds %q", got)
	}
}

// The launcher, run as a real process, execs the current release when it
// verifies and is newer; a tampered binary, an untrusted key or an older
// release leaves the installed binary running.
func TestLauncherExecsVerifiedRelease(t *testing.T) {
	f := newFixture(t)
	if _, err := f.apply(f.updater("v1.0.0"), f.update(f.priv, "v2.0.0", f.bin), f.bin); err != nil {
		t.Fatal(err)
	}
	if err := Confirm(f.state); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(f.out)
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), launcherEnv+"="+f.state, "UPDATE_TEST_KEY="+f.key)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("launcher: %v\n%s", err, out)
	}
	got, err := os.ReadFile(f.out)
	if err != nil {
		t.Fatalf("the release did not run: %v", err)
	}
	if want := "--state " + f.state + "\nlaunched=v2.0.0\n"; string(got) != want {
		t.Fatalf("the release ran with %q; want %q", got, want)
	}

	if _, _, ok := f.launch("v2.0.0"); ok {
		t.Error("launched a release no newer than the installed binary")
	}
	t.Setenv(LaunchedEnv, "v2.0.0")
	if _, _, ok := f.launch("v1.0.0"); ok {
		t.Error("launched again from a process the launcher started")
	}
	t.Setenv(LaunchedEnv, "")
	if _, _, ok := Launch(f.state, "v1.0.0", "", nil); ok {
		t.Error("launched with no trusted key")
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if _, _, ok := Launch(f.state, "v1.0.0", formatKey(other), discard()); ok {
		t.Error("launched a release the trusted key did not sign")
	}
	path, v, ok := f.launch("v1.0.0")
	if !ok || v != "v2.0.0" || path != filepath.Join(f.dir, "v2.0.0", BinaryName) {
		t.Fatalf("Launch = %q %q %v before tampering", path, v, ok)
	}
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := f.launch("v1.0.0"); ok {
		t.Error("launched a tampered binary")
	}
}

// Forged releases are refused before anything is written.
func TestForgedReleasesRefused(t *testing.T) {
	_, stranger, _ := ed25519.GenerateKey(nil)
	other := append([]byte(nil), "not the signed binary"...)
	for _, tc := range []struct {
		name, running, want string
		upd                 func(f *fixture) tunnel.Update
		served              func(f *fixture) []byte
		noKey               bool
	}{
		{name: "sha256 mismatch", running: "v1.0.0", want: "sha256",
			upd: func(f *fixture) tunnel.Update {
				b := append([]byte(nil), f.bin...)
				b[0] ^= 1
				return f.update(f.priv, "v2.0.0", b)
			}},
		{name: "size mismatch", running: "v1.0.0", want: "bytes",
			upd:    func(f *fixture) tunnel.Update { return f.update(f.priv, "v2.0.0", f.bin) },
			served: func(*fixture) []byte { return other }},
		{name: "another key", running: "v1.0.0", want: "does not verify",
			upd: func(f *fixture) tunnel.Update { return f.update(stranger, "v2.0.0", f.bin) }},
		{name: "downgrade", running: "v1.0.0", want: "not newer",
			upd: func(f *fixture) tunnel.Update { return f.update(f.priv, "v0.9.0", f.bin) }},
		{name: "same version", running: "v2.0.0", want: "not newer",
			upd: func(f *fixture) tunnel.Update { return f.update(f.priv, "v2.0.0", f.bin) }},
		{name: "no trusted key", running: "v1.0.0", want: "trusts no release key", noKey: true,
			upd: func(f *fixture) tunnel.Update { return f.update(f.priv, "v2.0.0", f.bin) }},
		{name: "changed manifest", running: "v1.0.0", want: "does not verify",
			upd: func(f *fixture) tunnel.Update {
				u := f.update(f.priv, "v2.0.0", f.bin)
				u.Release.Manifest = []byte(strings.Replace(string(u.Release.Manifest), "v2.0.0", "v2.0.1", 1))
				return u
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			u := f.updater(tc.running)
			if tc.noKey {
				u.TrustedKey = ""
			}
			served := f.bin
			if tc.served != nil {
				served = tc.served(f)
			}
			phases, err := f.apply(u, tc.upd(f), served)
			if err == nil {
				t.Fatal("applied")
			}
			if last := f.last(); last.Phase != tunnel.PhaseRefused || !strings.Contains(last.Error, tc.want) {
				t.Fatalf("reported %+v (phases %q); want refused with %q", last, phases, tc.want)
			}
			if got := f.listing(); len(got) != 0 {
				t.Fatalf("releases holds %q; want nothing written", got)
			}
			if f.drains != 0 || u.Pending() {
				t.Fatal("a refused update drained the connector")
			}
		})
	}
}
