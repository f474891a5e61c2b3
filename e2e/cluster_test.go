package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCluster runs three gateway nodes (gw-a, gw-b, gw-c) on one real
// PostgreSQL behind a real HAProxy (TCP passthrough, health-checked on
// /readyz), with two connectors, and a fourth node (gw-d) started later,
// under a steady load of GETs through HAProxy. It shows, each bound
// measured from the event and failed beyond:
//   - a connector enrolled through gw-a serves through gw-b;
//   - "gatehouse sessions revoke" with gw-a's config: gw-c refuses the
//     session within 1 s;
//   - gw-d, started later, is used by both connectors within 10 s;
//   - SIGTERM gw-b: 0 failed requests; HAProxy marks it down and the
//     connectors' sessions to it close while it drains;
//   - SIGKILL gw-c: requests started after the kill succeed within 5 s;
//     how many in flight failed is reported.
//
// It prints a summary table of what it measured.
func TestCluster(t *testing.T) {
	lab := newClusterLab(t, "gw-a", "gw-b", "gw-c", "gw-d")
	sum := &clusterSummary{}
	t.Cleanup(sum.print)
	a, b, c, d := lab.node("gw-a"), lab.node("gw-b"), lab.node("gw-c"), lab.node("gw-d")
	for _, n := range []*clusterGW{a, b, c} {
		lab.start(n)
	}
	for _, n := range []*clusterGW{a, b, c} {
		lab.lb.waitStatus(t, n.id, "UP")
	}

	c1 := enrollConnector(t, a.gatewayProc, "connector-1", "default")
	id1 := c1.id(t)
	sum.run(t, "connector enrolled through gw-a serves through gw-b", func(t *testing.T) {
		enrolledThroughA(t, lab, sum, id1)
	})
	c2 := enrollConnector(t, b.gatewayProc, "connector-2", "default")
	ids := []string{id1, c2.id(t)}
	sum.run(t, "every connector holds sessions to every node", func(t *testing.T) {
		everyNode(t, sum, ids, a, b, c)
	})

	lbc := lab.client(lab.lb.addr)
	waitServing(t, lbc, "https://"+clusterAppHost+"/hit")
	// Half the workers keep their connection through HAProxy (so a node
	// going away closes it under them), half connect for every request
	// (so HAProxy picks a node for each).
	fresh := lab.client(lab.lb.addr)
	fresh.Transport.(*http.Transport).DisableKeepAlives = true
	load := startClusterLoad(t, []*http.Client{lbc, fresh}, 4)
	steady := time.Now()
	load.waitOK(t, "200 requests through haproxy", steady, 200)

	sum.run(t, "sessions revoke on gw-a refused on gw-c within 1s", func(t *testing.T) {
		revokeAcrossNodes(t, lab, sum, a, c)
	})
	sum.run(t, "node started later is used by both connectors within 10s", func(t *testing.T) {
		laterNode(t, lab, sum, d, ids)
	})
	ok, failed, reasons := load.window(steady, time.Time{})
	sum.add("steady load, 3 then 4 nodes (before SIGTERM)", "-", "%d ok, %d failed %v", ok, failed, reasons)
	if failed > 0 {
		t.Errorf("steady load before any node stopped: %d of %d requests failed: %v", failed, ok+failed, reasons)
	}
	sum.run(t, "SIGTERM one node under load: 0 failed requests", func(t *testing.T) {
		sigtermNode(t, lab, sum, load, b)
	})
	sum.run(t, "SIGKILL another node: requests succeed within 5s", func(t *testing.T) {
		sigkillNode(t, lab, sum, load, c)
	})
	load.stop()
	ok, failed, _ = load.window(steady, time.Time{})
	sum.add("whole run through haproxy", "-", "%d requests, %d failed", ok+failed, failed)
}

// everyNode waits until every connector in ids holds sessions to every
// node, and fails naming the sessions each node lists if they do not.
func everyNode(t *testing.T, sum *clusterSummary, ids []string, nodes ...*clusterGW) {
	from := time.Now()
	took, ok := waitUntil(from, waitFor, func() bool {
		for _, n := range nodes {
			if !n.hasSessions(t, ids...) {
				return false
			}
		}
		return true
	})
	if !ok {
		var state []string
		for _, n := range nodes {
			m, err := n.connectors(t)
			state = append(state, fmt.Sprintf("%s: %v %v", n.id, m, err))
		}
		t.Fatalf("after %v, not every connector %v holds sessions to every node; sessions by node: %s", took, ids, strings.Join(state, "; "))
	}
	sum.add("connector-2 (enrolled through gw-b) on gw-a, gw-b, gw-c", "-", "%v", took.Round(time.Millisecond))
}

// enrolledThroughA: connector-1 (the only one so far), enrolled with a
// token made with gw-a's config and so dialling gw-a first, gets sessions
// to gw-b and serves a request sent straight to gw-b's public port.
func enrolledThroughA(t *testing.T, lab *clusterLab, sum *clusterSummary, id string) {
	b := lab.node("gw-b")
	onB, ok := waitUntil(time.Now(), waitFor, func() bool { return b.hasSessions(t, id) })
	if !ok {
		m, err := b.connectors(t)
		t.Fatalf("connector-1 (enrolled through gw-a) holds no session to gw-b after %v; gw-b lists %v %v", onB, m, err)
	}
	r := getOnce(t.Context(), lab.client(b.public), "through=gw-b")
	if !r.ok {
		t.Fatalf("GET straight to gw-b's public port %s: %s", b.public, r.reason)
	}
	sum.add("connector enrolled through gw-a: sessions on gw-b", "-", "%v; GET straight to gw-b: 200", onB.Round(time.Millisecond))
}

// revokeAcrossNodes: alice signs in on gw-a; her session cookie works on
// gw-c; "gatehouse sessions revoke" with gw-a's config; gw-c refuses the
// cookie within 1 s of the command's exit (when the revocation is
// committed), and keeps refusing it.
func revokeAcrossNodes(t *testing.T, lab *clusterLab, sum *clusterSummary, a, c *clusterGW) {
	cookie := lab.signIn(t, a)
	st := 0
	if took, ok := waitUntil(time.Now(), waitFor, func() bool { st = lab.withCookie(t, c, cookie); return st == http.StatusOK }); !ok {
		t.Fatalf("gw-c answers %d to alice's session from gw-a after %v, want 200 before the revocation", st, took)
	}
	cmdStart := time.Now()
	out, errOut, code := runCmd(t, a.dir, gatehouseBin, "sessions", "revoke", "--config", a.configPath, "--user", "alice")
	if code != 0 || !strings.Contains(out, `revoked every session of "alice"`) {
		t.Fatalf("sessions revoke on gw-a: exit %d %q %q", code, out, errOut)
	}
	committed := time.Now()
	last := 0
	took, ok := waitUntil(committed, time.Second, func() bool {
		last = lab.withCookie(t, c, cookie)
		return last == http.StatusUnauthorized
	})
	sum.add("sessions revoke on gw-a -> refused on gw-c", "1s", "%v after the command exited (%v after it started)",
		took.Round(time.Millisecond), (committed.Sub(cmdStart) + took).Round(time.Millisecond))
	if !ok {
		t.Fatalf("gw-c still answered %d to the revoked session %v after sessions revoke on gw-a exited, want 401 within 1s", last, took)
	}
	for _, n := range []*clusterGW{a, c} {
		if st := lab.withCookie(t, n, cookie); st != http.StatusUnauthorized {
			t.Errorf("%s answered %d to the revoked session, want 401", n.id, st)
		}
	}
}

// laterNode starts gw-d (HAProxy lists it from the start; its health check
// finds it): both connectors hold sessions to it within 10 s of its
// start, and a request sent straight to it succeeds.
func laterNode(t *testing.T, lab *clusterLab, sum *clusterSummary, d *clusterGW, ids []string) {
	from := time.Now()
	lab.start(d)
	ready := time.Since(from)
	took, ok := waitUntil(from, 10*time.Second, func() bool { return d.hasSessions(t, ids...) })
	conns, _ := d.connectors(t)
	sum.add("gw-d started later: both connectors' sessions on it", "10s", "%v from its start (ready after %v)",
		took.Round(time.Millisecond), ready.Round(time.Millisecond))
	if !ok {
		t.Fatalf("gw-d: both connectors should hold sessions within 10s of its start; after %v its admin API lists %v (want %v)", took, conns, ids)
	}
	if r := getOnce(t.Context(), lab.client(d.public), "through=gw-d"); !r.ok {
		t.Fatalf("GET straight to gw-d's public port %s: %s", d.public, r.reason)
	}
	lab.lb.waitStatus(t, d.id, "UP")
}

// sigtermNode sends SIGTERM to n under load and watches, until it exits:
// HAProxy marking it down, and its admin API listing no connector session.
// Both must happen while it drains (before it exits); it must exit 0; and
// no request of the load may fail, up to 200 requests after its exit.
func sigtermNode(t *testing.T, lab *clusterLab, sum *clusterSummary, load *clusterLoad, n *clusterGW) {
	if st := lab.lb.column(n.id, "stot"); st == "0" || strings.HasPrefix(st, "?") {
		t.Fatalf("haproxy sent %s no connection before the SIGTERM (stot %s)", n.id, st)
	}
	termAt := time.Now()
	n.proc.signal(t, syscall.SIGTERM)
	var downAt, noSessionsAt time.Time
	deadline := termAt.Add(waitFor)
	for !n.proc.exited() && time.Now().Before(deadline) {
		if downAt.IsZero() && strings.HasPrefix(lab.lb.status(n.id), "DOWN") {
			downAt = time.Now()
		}
		if m, err := n.connectors(t); noSessionsAt.IsZero() && err == nil && len(m) == 0 {
			noSessionsAt = time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	code := n.proc.wait(t)
	exitAt := time.Now()
	since := func(at time.Time) string {
		if at.IsZero() {
			return "not before its exit"
		}
		return at.Sub(termAt).Round(time.Millisecond).String()
	}
	load.waitOK(t, "200 requests after "+n.id+" exited", exitAt, 200)
	ok, failed, reasons := load.window(termAt, time.Time{})
	sum.add("SIGTERM "+n.id+": failed requests", "0", "%d of %d %v", failed, ok+failed, reasons)
	sum.add("SIGTERM "+n.id+": haproxy marks it DOWN", "before exit", "%s", since(downAt))
	sum.add("SIGTERM "+n.id+": no connector session left on it", "before exit", "%s", since(noSessionsAt))
	sum.add("SIGTERM "+n.id+": exit", "code 0", "code %d after %v", code, exitAt.Sub(termAt).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("%s exited with %d after SIGTERM", n.id, code)
	}
	if downAt.IsZero() {
		t.Errorf("haproxy still had %s %q when it exited: the load balancer did not move away while it drained", n.id, lab.lb.status(n.id))
	}
	// The admin API may go before a poll sees the sessions gone; the
	// node's log says when they closed, before it stopped.
	if noSessionsAt.IsZero() && !n.proc.log.ContainsInOrder("gateway stopping: tunnels closed", "gateway stopped") {
		m, _ := n.connectors(t)
		t.Errorf("%s's connector sessions were not closed before it stopped (admin API last %v; no 'tunnels closed' line before 'gateway stopped')", n.id, m)
	}
	if failed > 0 {
		t.Errorf("SIGTERM %s under load: %d of %d requests failed, want 0: %v", n.id, failed, ok+failed, reasons)
	}
}

// sigkillNode SIGKILLs n under load and measures, from the kill, when the
// requests started after it all succeed again (the first success after
// the last failure, once 200 in a row succeeded): within 5 s. The
// requests in flight at the kill that failed are counted, not bounded.
func sigkillNode(t *testing.T, lab *clusterLab, sum *clusterSummary, load *clusterLoad, n *clusterGW) {
	killAt := time.Now()
	n.proc.kill()
	downAt := lab.lb.waitStatus(t, n.id, "DOWN")
	var (
		rec    time.Duration
		failed int
		ok     bool
	)
	if took, _ := waitUntil(killAt, waitFor, func() bool {
		rec, failed, ok = load.recovery(killAt, 200)
		return ok
	}); !ok {
		_, _, reasons := load.window(time.Now().Add(-time.Second), time.Time{})
		t.Fatalf("SIGKILL %s: %v after the kill, requests still fail (%d so far); in the last second: %v", n.id, took, failed, reasons)
	}
	inflight, inflightFailed := load.inFlight(killAt)
	sum.add("SIGKILL "+n.id+": requests started after the kill all succeed", "5s", "%v (%d started after it failed)",
		rec.Round(time.Millisecond), failed)
	sum.add("SIGKILL "+n.id+": requests in flight at the kill that failed", "(reported)", "%d of %d", inflightFailed, inflight)
	sum.add("SIGKILL "+n.id+": haproxy marks it DOWN", "-", "%v", downAt.Sub(killAt).Round(time.Millisecond))
	t.Logf("SIGKILL %s: recovered %v after the kill; %d requests started after it failed; %d of %d in flight failed",
		n.id, rec, failed, inflightFailed, inflight)
	if rec > 5*time.Second {
		t.Errorf("SIGKILL %s: requests started after the kill failed until %v after it, want within 5s", n.id, rec)
	}
}
