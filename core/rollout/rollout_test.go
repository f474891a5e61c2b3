package rollout

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
)

// Three connectors update one at a time, each only while another is
// ready, and all end on the new release; every step is logged.
func TestOneConnectorAtATime(t *testing.T) {
	o, hub, logs := setup(t, config.Updates{})
	for _, id := range []string{"c-1", "c-2", "c-3"} {
		hub.add(id, "g", "v1.0.0")
	}
	putRelease(t, o.Store, "v1.0.0")
	o.passOnce(t)
	if len(hub.sent) != 0 {
		t.Fatalf("updates sent with no newer release: %v", hub.sent)
	}
	putRelease(t, o.Store, "v1.1.0")
	o.passOnce(t)
	if want := []string{"c-1→v1.1.0", "c-2→v1.1.0", "c-3→v1.1.0"}; !slices.Equal(hub.sent, want) {
		t.Fatalf("updates sent %v, want %v", hub.sent, want)
	}
	if hub.maxUpdating != 1 || hub.alone != 0 {
		t.Fatalf("at most %d connectors updating at once (want 1); %d updates sent with no other connector ready (want 0)", hub.maxUpdating, hub.alone)
	}
	for id, v := range hub.versions() {
		if v != "v1.1.0" {
			t.Errorf("%s is on %s after the rollout", id, v)
		}
	}
	steps := logs.steps(t)
	for _, want := range []string{"c-1:sent:v1.1.0", "c-1:restarting:v1.1.0", "c-1:done:v1.1.0", "c-3:done:v1.1.0", ":complete:v1.1.0"} {
		if !slices.Contains(steps, want) {
			t.Errorf("no rollout step %s in the log: %v", want, steps)
		}
	}
	gs, err := Load(t.Context(), o.Store, "g")
	if err != nil || gs.Stopped || gs.Connectors["c-2"].State != StateUpdated {
		t.Fatalf("state %+v, %v", gs, err)
	}
}

// A group with one connector waits, unless allow_single.
func TestSingleConnectorNeedsAllowSingle(t *testing.T) {
	for _, allow := range []bool{false, true} {
		o, hub, _ := setup(t, config.Updates{AllowSingle: allow})
		hub.add("c-1", "g", "v1.0.0")
		putRelease(t, o.Store, "v1.1.0")
		o.passOnce(t)
		if got := len(hub.sent) == 1; got != allow {
			t.Errorf("allow_single %v: updates sent %v", allow, hub.sent)
		}
	}
}

// policy off never updates, even on request; manual only on request,
// to the requested version, and the request is used once.
func TestPolicyOffAndManual(t *testing.T) {
	o, hub, logs := setup(t, config.Updates{Policy: config.UpdateOff})
	hub.add("c-1", "g", "v1.0.0")
	hub.add("c-2", "g", "v1.0.0")
	putRelease(t, o.Store, "v1.1.0")
	putRelease(t, o.Store, "v1.2.0")
	if err := RequestUpdate(t.Context(), o.Store, "g", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	o.passOnce(t)
	if len(hub.sent) != 0 || !slices.Contains(logs.steps(t), ":refused:") {
		t.Fatalf("policy off: sent %v, steps %v", hub.sent, logs.steps(t))
	}

	o, hub, _ = setup(t, config.Updates{Policy: config.UpdateManual})
	hub.add("c-1", "g", "v1.0.0")
	hub.add("c-2", "g", "v1.0.0")
	putRelease(t, o.Store, "v1.1.0")
	putRelease(t, o.Store, "v1.2.0")
	o.passOnce(t)
	if len(hub.sent) != 0 {
		t.Fatalf("manual policy updated without a request: %v", hub.sent)
	}
	if err := RequestUpdate(t.Context(), o.Store, "g", "v1.1.0", time.Now()); err != nil {
		t.Fatal(err)
	}
	o.passOnce(t)
	if want := []string{"c-1→v1.1.0", "c-2→v1.1.0"}; !slices.Equal(hub.sent, want) {
		t.Fatalf("requested v1.1.0: sent %v, want %v", hub.sent, want)
	}
	o.passOnce(t) // the request was used up
	if len(hub.sent) != 2 {
		t.Fatalf("the request was used twice: %v", hub.sent)
	}
}

// An auto group updates only inside its window.
func TestWindow(t *testing.T) {
	o, hub, _ := setup(t, config.Updates{Window: "Sat 02:00-05:00"})
	hub.add("c-1", "g", "v1.0.0")
	hub.add("c-2", "g", "v1.0.0")
	putRelease(t, o.Store, "v1.1.0")
	o.Now = func() time.Time { return time.Date(2024, 1, 5, 3, 0, 0, 0, time.UTC) } // a Friday
	o.passOnce(t)
	if len(hub.sent) != 0 {
		t.Fatalf("updated outside the window: %v", hub.sent)
	}
	o.Now = func() time.Time { return time.Date(2024, 1, 6, 3, 0, 0, 0, time.UTC) } // Saturday
	o.passOnce(t)
	if len(hub.sent) != 2 {
		t.Fatalf("inside the window: sent %v", hub.sent)
	}
}

// A pinned version is the target, even older than the newest release.
func TestPinnedVersion(t *testing.T) {
	o, hub, _ := setup(t, config.Updates{Version: "v1.0.5"})
	hub.add("c-1", "g", "v1.0.0")
	hub.add("c-2", "g", "v1.0.5")
	putRelease(t, o.Store, "v1.0.5")
	putRelease(t, o.Store, "v1.1.0")
	o.passOnce(t)
	if want := []string{"c-1→v1.0.5"}; !slices.Equal(hub.sent, want) {
		t.Fatalf("pinned v1.0.5: sent %v, want %v", hub.sent, want)
	}
}

// A failed update stops the group's rollout and is recorded; the next
// auto check does not retry that version, a request does.
func TestFailureStopsTheGroup(t *testing.T) {
	o, hub, logs := setup(t, config.Updates{})
	hub.add("c-1", "g", "v1.0.0")
	hub.add("c-2", "g", "v1.0.0").fail = "trial_failed"
	hub.add("c-3", "g", "v1.0.0")
	putRelease(t, o.Store, "v1.1.0")
	o.passOnce(t)
	if want := []string{"c-1→v1.1.0", "c-2→v1.1.0"}; !slices.Equal(hub.sent, want) {
		t.Fatalf("sent %v, want %v (stop after c-2 failed)", hub.sent, want)
	}
	gs, err := Load(t.Context(), o.Store, "g")
	if err != nil || !gs.Stopped || gs.Connectors["c-2"].State != StateFailed || !strings.Contains(gs.Error, "exit status 3") {
		t.Fatalf("state after the failure: %+v, %v", gs, err)
	}
	if !slices.Contains(logs.steps(t), "c-2:trial_failed:v1.1.0") || !slices.Contains(logs.steps(t), "c-2:stopped:v1.1.0") {
		t.Fatalf("the failure is not in the log: %v", logs.steps(t))
	}
	o.passOnce(t)
	if len(hub.sent) != 2 {
		t.Fatalf("the failed version was retried by the auto check: %v", hub.sent)
	}
	hub.cs["c-2"].fail = ""
	if err := RequestUpdate(t.Context(), o.Store, "g", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	o.passOnce(t)
	if want := []string{"c-1→v1.1.0", "c-2→v1.1.0", "c-2→v1.1.0", "c-3→v1.1.0"}; !slices.Equal(hub.sent, want) {
		t.Fatalf("after a request: sent %v, want %v", hub.sent, want)
	}
}

// A connector that does not come back within the deadline fails the
// rollout with a timeout.
func TestDeadline(t *testing.T) {
	o, hub, logs := setup(t, config.Updates{})
	o.Deadline = 300 * time.Millisecond
	hub.add("c-1", "g", "v1.0.0").fail = "hang"
	hub.add("c-2", "g", "v1.0.0")
	putRelease(t, o.Store, "v1.1.0")
	o.passOnce(t)
	if len(hub.sent) != 1 || !slices.Contains(logs.steps(t), "c-1:timeout:v1.1.0") {
		t.Fatalf("sent %v, steps %v", hub.sent, logs.steps(t))
	}
}
