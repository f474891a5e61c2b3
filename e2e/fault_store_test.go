package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fault 5a: the store turns read-only under the gateway. No mounts are
// available here, so the SQLite file and its -wal and -shm files are made
// immutable (chattr +i, as root): no process may write them, not even
// through descriptors opened before.
func faultStoreReadOnly(t *testing.T) {
	if out, err := exec.Command("chattr", "--help").CombinedOutput(); err != nil && !strings.Contains(string(out), "Usage") {
		t.Skipf("chattr is not available: %v", err)
	}
	faultStore(t, "store read-only (chattr +i)", func(g *gatewayProc) func() {
		db := filepath.Join(g.dataDir, "gatehouse.db")
		files := []string{db, db + "-wal", db + "-shm"}
		chattr := func(flag string) {
			for _, f := range files {
				if _, err := os.Stat(f); err != nil {
					continue
				}
				if out, err := exec.Command("chattr", flag, f).CombinedOutput(); err != nil {
					t.Skipf("chattr %s %s: %v %s (not root, or the file system has no immutable flag)", flag, f, err, out)
				}
			}
		}
		chattr("+i")
		restore := func() { chattr("-i") }
		t.Cleanup(restore) // else the temp dir cannot be removed
		return restore
	})
}

// Fault 5b: the disk is full. No loop device or mount is available, so
// the gateway process gets a file-size limit of one byte (RLIMIT_FSIZE,
// soft limit, set with prlimit): every write past offset 1 of any file
// fails with EFBIG (Go ignores SIGXFSZ), which SQLite meets as it would a
// full disk. Other processes (operator commands) write as before.
func faultStoreDiskFull(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skipf("prlimit is not available: %v", err)
	}
	faultStore(t, "store disk full (RLIMIT_FSIZE)", func(g *gatewayProc) func() {
		pid := fmt.Sprint(g.proc.pid())
		if out, err := exec.Command("prlimit", "--pid", pid, "--fsize=1:").CombinedOutput(); err != nil {
			t.Fatalf("prlimit: %v %s", err, out)
		}
		return func() {
			if out, err := exec.Command("prlimit", "--pid", pid, "--fsize=unlimited:").CombinedOutput(); err != nil {
				t.Fatalf("prlimit: %v %s", err, out)
			}
		}
	})
}

// faultStore runs a store fault: inject makes the store unwritable for
// the gateway and returns the function that repairs it. The gateway must
// write again within 5 s of the repair, without a restart (a pooled
// connection that SQLite opened read-only under the fault once kept its
// writes failing until one). Before the fault
// the store holds two enrolled connectors, a revocation (carol) and
// sign-in records. Under the fault, signed-in sessions are served or
// fail closed, and revoked ones are never admitted; after the repair and
// after a restart, everything committed is still there.
func faultStore(t *testing.T, name string, inject func(g *gatewayProc) func()) {
	be := newFaultBackend(t, "app")
	g, conns := faultGateway(t, 2, []appSpec{faultApp(t, "app", be.URL)}, "", be)
	c := g.client(false)
	alice := signIn(t, c, "app.localhost", "alice")
	bob := signIn(t, c, "app.localhost", "bob")
	carol := signIn(t, c, "app.localhost", "carol")
	revoke(t, g, "carol", true)
	refused(t, carol, "carol's revoked session")
	committed := storeState(t, g, conns)

	l := startLoad(t, 4, func(w, i int) shot { return alice.get(t, fmt.Sprintf("https://app.localhost/s?w=%d&i=%d", w, i)) })
	l.waitOK(t, "load before the fault", 100)
	faultAt := time.Now()
	repair := inject(g)

	// Heartbeats and the sign-in log now fail to write; sessions go on.
	g.log().waitLines(t, "a store write to fail", 1, "level=WARN", "recording heartbeat")
	l.waitOK(t, "load under the fault", 100)
	refused(t, carol, "carol's revoked session, store unwritable")
	if s := bob.get(t, "https://app.localhost/b"); !s.ok && s.status != http.StatusServiceUnavailable {
		t.Errorf("bob's session under the fault: %d %q; want served or 503", s.status, short(s.detail, 200))
	}
	// Erin signs in for the first time: her sign-in record cannot be
	// written now.
	erin := faultClient{c: c, user: "erin"}
	if s := erin.get(t, "https://app.localhost/new"); !s.ok && s.status != http.StatusServiceUnavailable {
		t.Errorf("a new sign-in under the fault: %d %q; want served or 503", s.status, short(s.detail, 200))
	}
	// An operator revokes bob while the gateway cannot write: if the
	// command could write, bob is refused from then on.
	if revoke(t, g, "bob", false) {
		refused(t, bob, "bob revoked under the fault")
	}

	repair()
	repairedAt := time.Now()
	sent, failed, rec := l.summary(t, faultAt)
	requireFailuresClosed(t, failed, false, http.StatusServiceUnavailable)
	lost := compareState(t, committed, storeState(t, g, conns), "after the repair")
	revoke(t, g, "dave", true) // the store takes writes again
	// So does the gateway itself: erin signs in again, and the sign-in
	// log has her (identical records are kept once a minute, but one
	// that could not be written does not count).
	erinLogged := func(within time.Duration) bool {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) && !t.Failed() {
			if s := erin.get(t, "https://app.localhost/repaired"); s.ok {
				for _, l := range storeState(t, g, conns).signIns {
					if strings.Contains(l, " erin ") {
						return true
					}
				}
			}
			time.Sleep(100 * time.Millisecond) // polling the sign-in log
		}
		return false
	}
	note := "; the gateway's writes failed after the repair"
	if erinLogged(recoveryBound) {
		note = fmt.Sprintf("; the gateway wrote again %v after the repair", time.Since(repairedAt).Round(time.Millisecond))
	} else {
		t.Errorf("the gateway logged no sign-in within %v of the repair", recoveryBound)
	}

	g.stop()
	g.start()
	for _, conn := range conns {
		conn.waitReady(t, 4)
	}
	lost = append(lost, compareState(t, committed, storeState(t, g, conns), "after a restart")...)
	refused(t, carol, "carol's revoked session after a restart")
	if failedBefore := t.Failed(); !erinLogged(waitFor) && !failedBefore {
		t.Errorf("the restarted gateway logged no sign-in")
	}
	eventually(t, "alice's session after a restart", func() bool { return alice.get(t, "https://app.localhost/after").ok })
	what := "nothing"
	if len(lost) > 0 {
		what = strings.Join(lost, "; ")
		t.Errorf("lost from the store: %s", what)
	}
	record(t, faultRow{Fault: name, Sent: sent, Failed: len(failed), FailedIdem2: len(failed),
		Slowest: l.slowest(faultAt), Recovery: rec.Round(time.Millisecond).String(), Lost: what + note})
	if len(failed) > 0 {
		t.Errorf("%d GETs of a signed-in session failed while only writes were broken:\n%s", len(failed), describe(failed))
	}
}

// revoke runs "gatehouse sessions revoke --user user"; it fails the test
// if must and the command failed, and says whether it succeeded.
func revoke(t *testing.T, g *gatewayProc, user string, must bool) bool {
	t.Helper()
	out, errOut, code := runCmd(t, g.dir, gatehouseBin, "sessions", "revoke", "--config", g.configPath, "--user", user)
	if code != 0 {
		if must {
			t.Fatalf("sessions revoke --user %s exited %d: %s", user, code, errOut)
		}
		t.Logf("sessions revoke --user %s under the fault: exit %d: %s", user, code, strings.TrimSpace(errOut))
		return false
	}
	// A user with no session in the sign-in log (dave) is told so; the
	// revocation is recorded all the same.
	if !strings.Contains(out, "revoked every session of") && !strings.Contains(out, "recorded the revocation anyway") {
		t.Fatalf("sessions revoke --user %s said %q", user, out)
	}
	return true
}

// refused checks that fc's session is not admitted: never a 200, and the
// backend's identity check stays clean.
func refused(t *testing.T, fc faultClient, what string) {
	t.Helper()
	if s := fc.get(t, "https://app.localhost/revoked"); s.ok || s.status == http.StatusOK {
		t.Errorf("%s was admitted: %d %q", what, s.status, short(s.detail, 200))
	} else if s.status != http.StatusUnauthorized && s.status != http.StatusServiceUnavailable {
		t.Errorf("%s: %d %q, want 401 (sign in again) or 503", what, s.status, short(s.detail, 200))
	}
}

// committedState is what the store holds that must survive a fault.
type committedState struct {
	connectors []string // ids the "gatehouse connectors" command lists
	signIns    []string // lines of "gatehouse signins"
}

func storeState(t *testing.T, g *gatewayProc, conns []*connectorProc) committedState {
	t.Helper()
	var s committedState
	list := g.connectorsCLI()
	for _, c := range conns {
		if strings.Contains(list, c.id(t)) {
			s.connectors = append(s.connectors, c.id(t))
		}
	}
	out, errOut, code := runCmd(t, g.dir, gatehouseBin, "signins", "--config", g.configPath, "--limit", "1000")
	if code != 0 {
		t.Fatalf("gatehouse signins exited %d: %s", code, errOut)
	}
	s.signIns = strings.Split(strings.TrimSpace(out), "\n")[1:]
	return s
}

// compareState lists what of before is missing from after.
func compareState(t *testing.T, before, after committedState, when string) []string {
	t.Helper()
	var lost []string
	if len(before.connectors) != 2 {
		t.Fatalf("before the fault the store listed %d of the 2 connectors", len(before.connectors))
	}
	if len(after.connectors) != len(before.connectors) {
		lost = append(lost, fmt.Sprintf("%d of %d connectors %s", len(before.connectors)-len(after.connectors), len(before.connectors), when))
	}
	have := map[string]bool{}
	for _, l := range after.signIns {
		have[l] = true
	}
	missing := 0
	for _, l := range before.signIns {
		if !have[l] {
			missing++
		}
	}
	if missing > 0 {
		lost = append(lost, fmt.Sprintf("%d of %d sign-in records %s", missing, len(before.signIns), when))
	}
	return lost
}
