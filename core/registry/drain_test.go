package registry

import (
	"errors"
	"io"
	"testing"
	"time"
)

// A draining session gets no new stream: its connector's other session
// takes them, and once every session of the connector drains, neither a
// pick nor the retry on another connector (avoid) chooses it.
func TestDrainStopsPicks(t *testing.T) {
	r := New(newClock(), time.Minute)
	a1, pa1 := newTunnel(t, "a")
	a2, pa2 := newTunnel(t, "a")
	b, pb := newTunnel(t, "b")
	r.Attach("a", "g", a1)
	r.Attach("a", "g", a2)
	r.Attach("b", "g", b)

	dial := func(avoid ...string) (string, error) {
		_, id, release, err := r.DialGroup(t.Context(), "g", avoid, false)
		if err == nil {
			release()
		}
		return id, err
	}
	r.Drain(a1)
	r.Drain(a1) // twice is harmless
	for range 6 {
		if _, err := dial("b"); err != nil {
			t.Fatalf("dial to a with one session draining: %v", err)
		}
	}
	waitFor(t, "6 streams on a's second session", func() bool { return pa2.accepted.Load() == 6 })
	if n := pa1.accepted.Load(); n != 0 {
		t.Fatalf("a's draining session got %d streams", n)
	}

	r.Drain(a2)
	if got := statuses(r); got != "g/a active=true sessions=2 inflight=0; g/b active=true sessions=1 inflight=0; " {
		t.Fatalf("statuses: %s", got)
	}
	if st := r.List()[0]; st.ID != "a" || st.Draining != 2 {
		t.Fatalf("List()[0] = %+v, want a with 2 sessions draining", st)
	}
	for range 20 {
		if id, err := dial(); err != nil || id != "b" {
			t.Fatalf("dial with a draining = %q, %v; want b", id, err)
		}
	}
	if _, err := dial("b"); !errors.Is(err, ErrNoConnector) {
		t.Fatalf("retry avoiding b with a draining = %v, want ErrNoConnector", err)
	}
	waitFor(t, "20 streams on b", func() bool { return pb.accepted.Load() == 20 })
	if n := pa1.accepted.Load() + pa2.accepted.Load(); n != 6 {
		t.Fatalf("a's sessions got %d streams in all, want the 6 from before it drained", n)
	}
}

// Drain closes the parked streams of the session, and a stream in use
// when it drains is closed, not parked, when its request ends.
func TestDrainClosesParkedStreams(t *testing.T) {
	r := New(newClock(), time.Minute)
	s, _ := newTunnel(t, "a")
	r.Attach("a", "g", s)
	open := func() *Stream {
		st, _, release, err := r.DialGroup(t.Context(), "g", nil, true)
		if err != nil {
			t.Fatal(err)
		}
		release()
		return st.(*Stream)
	}
	parked, inUse := open(), open()
	parked.Park()
	r.Drain(s)
	inUse.Park()
	for name, st := range map[string]*Stream{"parked": parked, "in use": inUse} {
		_ = st.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := st.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && err == nil {
			t.Fatalf("the %s stream is still open after Drain", name)
		}
	}
	if st := r.sessions[s].pool.get(time.Now()); st != nil {
		t.Fatal("a drained session's pool still hands out a stream")
	}
}

// Drain returns only once the picks made before it have opened their
// streams: a stream opened after its answer would reach a connector that
// believes no more are coming.
func TestDrainWaitsForPicksUnderWay(t *testing.T) {
	r := New(newClock(), time.Minute)
	s, _ := newTunnel(t, "a")
	r.Attach("a", "g", s)
	c, ts, _, _ := r.pick("g", "", nil, nil) // a DialGroup between its pick and OpenStream
	done := make(chan struct{})
	go func() { r.Drain(s); close(done) }()
	waitFor(t, "the session to be marked draining", func() bool { return r.List()[0].Draining == 1 })
	select {
	case <-done:
		t.Fatal("Drain returned while a pick was still opening its stream")
	default:
	}
	ts.opening.Done()
	c.inflight.Add(-1)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return once the pick had opened its stream")
	}
	if _, _, _, err := r.DialGroup(t.Context(), "g", nil, false); !errors.Is(err, ErrNoConnector) {
		t.Fatalf("DialGroup after Drain = %v, want ErrNoConnector", err)
	}
	r.Drain(nil) // an unknown session is ignored
}
