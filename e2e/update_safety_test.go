package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestUpdateForgedRefused: a binary that is not the signed one, a
// manifest signed by another key and a downgrade are refused, by 'release
// add' and, when written straight into the store, by the connector before
// it writes anything.
func TestUpdateForgedRefused(t *testing.T) {
	s := startUpdateSetup(t, 2, "      policy: manual\n")
	v1, err := os.ReadFile(s.kit.bins["v1.0.0"])
	if err != nil {
		t.Fatal(err)
	}
	v2, err := os.ReadFile(s.kit.bins["v2.0.0"])
	if err != nil {
		t.Fatal(err)
	}
	nothingWritten := func(what string) {
		t.Helper()
		for _, c := range s.cons {
			c.requireAlive(t)
			if es := releasesDirEntries(t, c.state); len(es) > 0 {
				t.Errorf("%s: %s wrote %v under its releases/", what, c.name, es)
			}
		}
	}
	// (a) v5.0.0's manifest names the v2 binary; the store gets v1's bytes.
	if out, code := s.releaseAdd(t, "v5-sha", s.kit.bins["v1.0.0"]); code == 0 || !strings.Contains(out, "not the binary that was signed") {
		t.Errorf("release add with another binary: exit %d: %s", code, out)
	}
	s.storeRelease(t, "v5-sha", v1)
	// The gateway's own code checks the stored binary before it sends the
	// update ("error"); the connector's check ("refused") is behind it.
	if st := s.requestUpdate(t, "v5.0.0"); st.Phase != "refused" && st.Phase != "error" || !strings.Contains(st.E, "sha256") {
		t.Errorf("a tampered binary: rollout step %+v, want refused (or error) over its sha256", st)
	} else {
		t.Logf("tampered binary: %s: %s", st.Phase, st.E)
	}
	nothingWritten("a tampered binary")
	// (b) v4.0.0 is signed by a key the connectors do not trust.
	if out, code := s.releaseAdd(t, "v4-otherkey", s.kit.bins["v2.0.0"]); code == 0 || !strings.Contains(out, "refused") {
		t.Errorf("release add signed by another key: exit %d: %s", code, out)
	}
	s.storeRelease(t, "v4-otherkey", v2)
	if st := s.requestUpdate(t, "v4.0.0"); st.Phase != "refused" || !strings.Contains(st.E, "signature") {
		t.Errorf("another key's release: rollout step %+v, want refused over its signature", st)
	}
	nothingWritten("a release signed by another key")
	// (c) v0.9.0 is signed and valid, but older: pinned by the operator.
	if out, code := s.releaseAdd(t, "v0.9-downgrade", s.kit.bins["v1.0.0"]); code != 0 {
		t.Fatalf("release add v0.9.0: exit %d: %s", code, out)
	}
	s.g.writeConfigText(updateGatewayYAML(s.kit, s.g, s.be.URL, "      policy: auto\n      version: v0.9.0\n"))
	s.g.proc.signal(t, syscall.SIGHUP)
	if st := s.waitAnswer(t, "v0.9.0"); st.Version != "v0.9.0" || st.Phase != "refused" || !strings.Contains(st.E, "not newer") {
		t.Errorf("a pinned downgrade: rollout step %+v, want refused as not newer", st)
	}
	nothingWritten("a downgrade")
	for _, x := range s.steps() {
		if x.Phase == "downloading" || x.Phase == "trial" {
			t.Errorf("a forged release got as far as %s: %+v", x.Phase, x)
		}
	}
	s.g.proc.requireAlive(t)
	waitServing(t, s.g.client(false), "https://app.localhost/hit")
}

// TestUpdateInterrupted: a connector SIGKILLed while its update is in
// phase downloading, swapping or restarting starts again, as systemd
// would start it, on a working binary, serves, and leaves no temporary
// files.
func TestUpdateInterrupted(t *testing.T) {
	for _, phase := range []string{"downloading", "swapping", "restarting"} {
		t.Run(phase, func(t *testing.T) {
			s := startUpdateSetup(t, 1, "      policy: auto\n      allow_single: true\n")
			c := s.cons[0]
			if out, code := s.releaseAdd(t, "v2", s.kit.bins["v2.0.0"]); code != 0 {
				t.Fatalf("release add v2 exited %d: %s", code, out)
			}
			waitStepThenKill(t, s, phase, c)
			plantLeftovers(t, s, phase, c.state)
			before := releasesDirEntries(t, c.state)
			s.restart(t, 0)
			c = s.cons[0]
			c.waitReady(t, 2)
			waitServing(t, s.g.client(false), "https://app.localhost/hit")
			exe := exeOf(t, c.pid())
			if _, err := os.Stat(exe); err != nil || !(exe == s.kit.bins["v1.0.0"] ||
				exe == filepath.Join(c.state, "releases", "v2.0.0", "gatehouse-connector")) {
				t.Errorf("after the restart %s runs %q (%v), want v1 or the installed v2", c.name, exe, err)
			}
			after := releasesDirEntries(t, c.state)
			for _, n := range after {
				if strings.HasPrefix(n, ".tmp-") || strings.HasSuffix(n, ".tmp") {
					t.Errorf("leftover %s in releases/ after the restart: %v", n, after)
				}
			}
			t.Logf("killed in %s; releases/ then %v, after the restart %v; running %s", phase, before, after, exe)
		})
	}
}

// waitStepThenKill polls the gateway log tightly for the connector's
// rollout phase and SIGKILLs the connector (with its children) at once.
func waitStepThenKill(t *testing.T, s *updateSetup, phase string, c *connectorProc) {
	t.Helper()
	eventuallyWithin(t, 3*waitFor, "rollout phase "+phase, func() bool {
		for _, l := range s.g.log().lines(`"msg":"rollout"`, `"phase":"`+phase+`"`) {
			if strings.Contains(l, s.ids[0]) {
				c.kill()
				return true
			}
		}
		return false
	})
	var seen []string // the phases the gateway had logged by then
	for _, st := range s.steps() {
		if st.Connector == s.ids[0] {
			seen = append(seen, st.Phase)
		}
	}
	t.Logf("SIGKILLed %s after the gateway logged %v", c.name, seen)
}

// TestUpdateTamperedInstall: the connector's own sha256 check, end to end.
// (A real gateway checks a stored binary before it sends it, so a tampered
// store never reaches the connector's download check; this one changes
// the installed binary on disk instead.) At start, the launcher refuses an
// installed release whose bytes differ from its signed manifest, and the
// connector runs, and serves, on the binary it was started from.
func TestUpdateTamperedInstall(t *testing.T) {
	s := startUpdateSetup(t, 1, "      policy: auto\n      allow_single: true\n")
	if out, code := s.releaseAdd(t, "v2", s.kit.bins["v2.0.0"]); code != 0 {
		t.Fatalf("release add v2 exited %d: %s", code, out)
	}
	s.waitStep(t, s.ids[0], "done")
	installed := filepath.Join(s.cons[0].state, "releases", "v2.0.0", "gatehouse-connector")
	if exe := exeOf(t, s.cons[0].pid()); exe != installed {
		t.Fatalf("after the update the connector runs %s, want %s", exe, installed)
	}
	s.cons[0].kill()
	b, err := os.ReadFile(installed)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(installed, b, 0o755); err != nil {
		t.Fatal(err)
	}
	s.restart(t, 0)
	c := s.cons[0]
	c.waitReady(t, 2)
	waitServing(t, s.g.client(false), "https://app.localhost/hit")
	if exe := exeOf(t, c.pid()); exe != s.kit.bins["v1.0.0"] {
		t.Errorf("with a tampered installed release the connector runs %s, want the v1 it was started from", exe)
	}
	if why := c.log.lines("sha256"); len(why) == 0 {
		t.Errorf("the connector did not log why it refused the installed release:\n%s", c.log.tail(4<<10))
	} else {
		t.Logf("the launcher: %s", why[0])
	}
}

// plantLeftovers writes what a kill a few instructions later would have
// left, since the kill lands where it lands: in downloading, a temporary
// directory with half the binary; in swapping, a new "current" link
// made but not yet renamed into place.
func plantLeftovers(t *testing.T, s *updateSetup, phase, state string) {
	t.Helper()
	dir := filepath.Join(state, "releases")
	switch phase {
	case "downloading":
		b, err := os.ReadFile(s.kit.bins["v2.0.0"])
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, ".tmp-1234")
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "gatehouse-connector"), b[:len(b)/2], 0o755); err != nil {
			t.Fatal(err)
		}
	case "swapping":
		if err := os.Symlink("v2.0.0", filepath.Join(dir, ".tmp-current")); err != nil {
			t.Fatal(err)
		}
	}
}
