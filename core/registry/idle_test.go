package registry

import (
	"testing"
	"time"
)

// TestParkedStreamsAreReused checks the idle pool: a parked stream is
// handed out again (Reused), only to callers that ask for reuse, not after
// idleFor, and not once its session is gone.
func TestParkedStreamsAreReused(t *testing.T) {
	clock := newClock()
	r := New(clock, time.Minute)
	sess, _ := newTunnel(t, "a")
	detach := r.Attach("a", "g", sess)

	dial := func(reuse bool) *Stream {
		t.Helper()
		c, id, release, err := r.DialGroup(t.Context(), "g", nil, reuse)
		if err != nil || id != "a" {
			t.Fatalf("DialGroup: %v %q", err, id)
		}
		release()
		return c.(*Stream)
	}

	first := dial(true)
	if first.Reused() {
		t.Fatal("a stream from an empty pool says it was reused")
	}
	first.Park()
	if again := dial(true); again.Stream != first.Stream || !again.Reused() {
		t.Fatalf("the parked stream was not handed out again (reused=%v)", again.Reused())
	} else {
		again.Park()
	}
	if fresh := dial(false); fresh.Stream == first.Stream || fresh.Reused() {
		t.Fatal("a caller that did not ask for reuse got a parked stream")
	} else {
		fresh.Park() // without reuse there is no pool: Park closes it
	}

	clock.Advance(idleFor + time.Second)
	if late := dial(true); late.Stream == first.Stream {
		t.Fatal("a stream parked longer than idleFor was handed out")
	} else {
		late.Park()
	}

	detach()
	if _, _, _, err := r.DialGroup(t.Context(), "g", nil, true); err == nil {
		t.Fatal("dialled a group whose only session was detached")
	}
}
