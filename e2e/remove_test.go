package e2e

import (
	"strings"
	"testing"
)

// TestRemoveConnector: two connectors serve an app under steady GET load;
// 'gatehouse connectors remove' one of them. The gateway logs the removal
// at WARN and closes its tunnels, no GET fails, the removed connector is
// told why and stops, its reconnect with the same (still valid)
// certificate is refused, the other connector keeps serving, and
// 'gatehouse connectors' no longer lists it. Removing it again, or an ID
// that never was, exits 1.
func TestRemoveConnector(t *testing.T) {
	t.Parallel()
	l := startTwoConnectorLoad(t)
	g, a, b, aID, bID := l.g, l.a, l.b, l.aID, l.bID

	out, errOut, code := runCmd(t, g.dir, gatehouseBin, "connectors", "remove", aID, "--config", g.configPath)
	if code != 0 || !strings.Contains(out, "removed connector "+aID) {
		t.Fatalf("connectors remove %s exited %d: %s%s", aID, code, out, errOut)
	}
	g.log().waitLines(t, "the gateway to log the removal at WARN", 1, "level=WARN", "connector removed", "connector="+aID)
	g.log().waitLines(t, "the gateway to close connector-a's sessions", 2, "connector session closed", "connector="+aID)
	a.log.waitLines(t, "connector-a to be told it was removed", 1, "was removed from the gateway")
	if code := a.wait(t); code == 0 {
		t.Errorf("the removed connector exited 0; want a failure exit")
	}
	closed := l.ok.Load()
	eventually(t, "300 more requests after connector-a's tunnels closed", func() bool { return l.ok.Load() >= closed+300 })
	l.stop()
	b.requireAlive(t)
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d GETs failed around the removal; first ones:\n%s", n, l.firstFailures())
	}

	// Its certificate is still valid, and is refused all the same: the
	// connector, started again on its state, is turned away and stops
	// rather than retrying.
	refusedBefore := len(g.log().lines("tunnel refused", "connector="+aID))
	again := startConnector(t, "connector-a-again", a.state)
	again.log.waitLines(t, "the restarted connector to be refused", 1, "was removed from the gateway")
	if code := again.wait(t); code == 0 {
		t.Errorf("the refused connector exited 0; want a failure exit")
	}
	if again.log.Count(`msg="tunnel ready"`) > 0 {
		t.Errorf("the removed connector's tunnel became ready again:\n%s", again.log.tail(4<<10))
	}
	if n := len(g.log().lines("tunnel refused", "connector="+aID)); n <= refusedBefore {
		t.Errorf("the gateway logged no refusal for the reconnect (%d before, %d after)", refusedBefore, n)
	}
	if attempts := again.log.Count("reconnecting"); attempts > 0 {
		t.Errorf("the refused connector retried %d times; want it to stop", attempts)
	}

	list := g.connectorsCLI()
	if strings.Contains(list, aID) || !strings.Contains(list, bID) {
		t.Errorf("gatehouse connectors after the removal lists:\n%s\nwant %s gone and %s there", list, aID, bID)
	}
	if _, errOut, code := runCmd(t, g.dir, gatehouseBin, "connectors", "remove", "--config", g.configPath, aID); code != 1 || !strings.Contains(errOut, "no connector") {
		t.Errorf("removing %s again exited %d (%s); want 1 and 'no connector'", aID, code, errOut)
	}
	t.Logf("%d GETs ok, %d failed; %d retried by the gateway", l.ok.Load(), l.failed.Load(), len(g.log().lines("retrying request on another connector")))
}
