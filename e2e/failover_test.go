package e2e

import "testing"

// TestFailoverWithoutErrors runs 8 clients against an app served by two
// connectors, SIGKILLs one connector mid-load once both carry traffic, and
// requires every single request to succeed, before and after the kill.
func TestFailoverWithoutErrors(t *testing.T) {
	t.Parallel()
	l := startTwoConnectorLoad(t)
	g, a, b, aID := l.g, l.a, l.b, l.aID

	beforeKill := l.ok.Load()
	a.kill() // SIGKILL, mid-load
	g.log().waitLines(t, "the gateway to drop connector-a", 2, "connector session closed", "connector="+aID)
	detached := l.ok.Load()
	eventually(t, "300 more requests after connector-a was dropped", func() bool { return l.ok.Load() >= detached+300 })
	l.stop()

	b.requireAlive(t)
	retries := len(g.log().lines("retrying request on another connector"))
	t.Logf("%d requests ok (%d before the kill, %d after connector-a was dropped), %d failed, %d retried by the gateway",
		l.ok.Load(), beforeKill, l.ok.Load()-detached, l.failed.Load(), retries)
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d requests failed during failover; first ones:\n%s", n, l.firstFailures())
	}
}
