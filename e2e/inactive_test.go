package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInactiveThenRemoved drives a connector's life with an injected
// clock: a silent (SIGSTOPped) connector becomes inactive (503); a
// heartbeat before removal makes it active again; silent past
// tunnel.remove_after it is deleted, and when it wakes up the gateway
// refuses it for good and it exits saying so.
func TestInactiveThenRemoved(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	cfg := oneApp(be.URL)
	cfg.Heartbeat, cfg.InactiveAfter = "1s", "3s" // remove_after: the default 240h
	ig := startInprocGateway(t, cfg)
	ctx := context.Background()
	conn := startConnector(t, "connector", filepath.Join(t.TempDir(), "state"), "--token", ig.token(t, "default", time.Hour))
	conn.waitReady(t, 2)
	id := conn.id(t)
	c := ig.client(t)
	waitServing(t, c, "https://app.localhost/hit")
	if out := ig.connectorsCLI(t); !strings.Contains(out, id) {
		t.Fatalf("gatehouse connectors does not list %s:\n%s", id, out)
	}

	// silence stops the connector and moves the clock until the gateway
	// holds it attached but inactive and answers 503. Each round moves the
	// clock again, in case a heartbeat sent just before the stop arrived.
	silence := func() {
		t.Helper()
		conn.signal(t, syscall.SIGSTOP)
		eventually(t, "the connector to be stopped", func() bool { return processState(t, conn.pid()) == "T" })
		var page response
		eventually(t, "the gateway to mark the connector inactive and answer 503", func() bool {
			ig.clock.Advance(4 * time.Second)
			ig.gw.Sweep(ctx)
			if s, attached := ig.status(id); !attached || s.Active {
				return false
			}
			page = get(t, c, "https://app.localhost/hit")
			return page.Status == http.StatusServiceUnavailable
		})
		requireErrorPage(t, page, http.StatusServiceUnavailable, "App unavailable")
		rec, err := ig.store.GetConnector(ctx, id)
		if err != nil {
			t.Fatalf("an inactive connector must stay in the store: %v", err)
		}
		if silent := ig.clock.Now().Sub(rec.LastSeen); silent <= 3*time.Second {
			t.Fatalf("store last_seen is only %v before the gateway's now; an inactive connector has been silent > 3s", silent)
		}
	}

	silence()
	ig.log.waitLines(t, "the inactivity logged", 1, "connector inactive: no heartbeat", "connector="+id)

	// A heartbeat before remove_after makes it active again.
	conn.signal(t, syscall.SIGCONT)
	waitServing(t, c, "https://app.localhost/hit")
	if s, _ := ig.status(id); !s.Active {
		t.Fatalf("connector answered but the registry says %+v", s)
	}

	silence()
	ig.clock.Advance(241 * time.Hour)
	ig.gw.Sweep(ctx)
	ig.log.waitLines(t, "the removal logged", 1, "connector removed: inactive too long", "connector="+id)
	list, err := ig.store.ListConnectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range list {
		if rec.ID == id {
			t.Fatalf("the store still lists %s after remove_after", id)
		}
	}
	if out := ig.connectorsCLI(t); strings.Contains(out, id) {
		t.Fatalf("gatehouse connectors still lists %s:\n%s", id, out)
	}
	eventually(t, "the registry to drop the removed connector", func() bool { _, ok := ig.status(id); return !ok })

	conn.signal(t, syscall.SIGCONT)
	if code := conn.wait(t); code == 0 {
		t.Fatal("the removed connector exited 0")
	}
	if !strings.Contains(conn.log.String(), "was removed from the gateway") {
		t.Fatalf("the removed connector did not say it was removed:\n%s", conn.log.tail(4<<10))
	}
	waitServingStatus(t, c, "https://app.localhost/hit", http.StatusServiceUnavailable)
}

// connectorsCLI runs "gatehouse connectors" against the in-process
// gateway's config and store.
func (ig *inprocGateway) connectorsCLI(t testing.TB) string {
	t.Helper()
	out, errOut, code := runCmd(t, ig.dir, gatehouseBin, "connectors", "--config", ig.configPath)
	if code != 0 {
		t.Fatalf("gatehouse connectors exited %d: %s", code, errOut)
	}
	return out
}
