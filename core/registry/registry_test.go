package registry

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// fakeClock is a registry.Clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// peer is the connector end of one tunnel: it accepts the streams the
// gateway opens and counts them.
type peer struct {
	id       string
	client   *yamux.Session
	accepted atomic.Int64
	first    chan string // first message of each stream
}

// newTunnel returns the gateway end of a real yamux session over net.Pipe,
// whose connector end (a yamux client) accepts and reads every stream.
func newTunnel(t *testing.T, id string) (*yamux.Session, *peer) {
	t.Helper()
	gw, conn := net.Pipe()
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	cfg.EnableKeepAlive = false
	server, err := yamux.Server(gw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	client, err := yamux.Client(conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{id: id, client: client, first: make(chan string, 100)}
	go func() {
		for {
			st, err := client.AcceptStream()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			go func() {
				defer st.Close()
				buf := make([]byte, 64)
				n, _ := st.Read(buf)
				if n > 0 {
					select {
					case p.first <- string(buf[:n]):
					default:
					}
				}
				_, _ = io.Copy(io.Discard, st)
			}()
		}
	}()
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, p
}

func statuses(r *Registry) string {
	var b strings.Builder
	for _, s := range r.List() {
		fmt.Fprintf(&b, "%s/%s active=%v sessions=%d inflight=%d; ", s.Group, s.ID, s.Active, s.Sessions, s.InFlight)
	}
	return b.String()
}

func TestHeartbeatsAndSweep(t *testing.T) {
	clock := newClock()
	r := New(clock, 30*time.Second)
	sa, _ := newTunnel(t, "a")
	sb, _ := newTunnel(t, "b")
	sc, _ := newTunnel(t, "c")
	r.Attach("a", "paris", sa)
	r.Attach("b", "paris", sb)
	r.Attach("c", "berlin", sc)

	steps := []struct {
		name       string
		do         func()
		wantSwept  []string
		wantStatus string
	}{
		{"attached connectors are active, listed by group then id", nil, nil,
			"berlin/c active=true sessions=1 inflight=0; paris/a active=true sessions=1 inflight=0; paris/b active=true sessions=1 inflight=0; "},
		{"b beats at 20 s", func() { clock.Advance(20 * time.Second); r.Beat("b") }, nil, ""},
		{"30 s after attach is not yet past the deadline", func() { clock.Advance(10 * time.Second) }, nil, ""},
		{"just past the deadline a and c go inactive", func() { clock.Advance(time.Nanosecond) }, []string{"a", "c"},
			"berlin/c active=false sessions=1 inflight=0; paris/a active=false sessions=1 inflight=0; paris/b active=true sessions=1 inflight=0; "},
		{"a second sweep reports nothing new", nil, nil, ""},
		{"a beat makes a active again", func() { r.Beat("a") }, nil,
			"berlin/c active=false sessions=1 inflight=0; paris/a active=true sessions=1 inflight=0; paris/b active=true sessions=1 inflight=0; "},
		{"b misses its deadline too", func() { clock.Advance(20*time.Second + time.Nanosecond) }, []string{"b"}, ""},
		{"a shorter deadline applies at the next sweep", func() { r.SetInactiveAfter(5 * time.Second); clock.Advance(6 * time.Second) }, []string{"a"},
			"berlin/c active=false sessions=1 inflight=0; paris/a active=false sessions=1 inflight=0; paris/b active=false sessions=1 inflight=0; "},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		swept := r.Sweep()
		slices.Sort(swept)
		if !slices.Equal(swept, st.wantSwept) {
			t.Fatalf("%s: Sweep() = %v, want %v", st.name, swept, st.wantSwept)
		}
		if st.wantStatus != "" {
			if got := statuses(r); got != st.wantStatus {
				t.Fatalf("%s: List() = %s\nwant %s", st.name, got, st.wantStatus)
			}
		}
	}
	if r.Beat("nobody") {
		t.Fatal("Beat of an unknown connector reported true")
	}
}

func TestAttachDetachEvict(t *testing.T) {
	r := New(newClock(), time.Minute)
	s1, p1 := newTunnel(t, "a")
	s2, _ := newTunnel(t, "a")
	s3, _ := newTunnel(t, "b")
	d1 := r.Attach("a", "g", s1)
	d2 := r.Attach("a", "g", s2)
	d3 := r.Attach("b", "g", s3)
	if got := statuses(r); got != "g/a active=true sessions=2 inflight=0; g/b active=true sessions=1 inflight=0; " {
		t.Fatalf("after attach: %s", got)
	}
	// Streams to a connector with two sessions alternate between them.
	for range 4 {
		_, _, release, err := r.DialGroup(t.Context(), "g", []string{"b"}, false)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	waitFor(t, "4 streams accepted", func() bool { return p1.accepted.Load() == 2 })

	d1()
	if got := statuses(r); got != "g/a active=true sessions=1 inflight=0; g/b active=true sessions=1 inflight=0; " {
		t.Fatalf("after one detach: %s", got)
	}
	d1() // detaching twice is harmless
	d2()
	if got := statuses(r); got != "g/b active=true sessions=1 inflight=0; " {
		t.Fatalf("after detaching every session of a: %s", got)
	}
	if r.Beat("a") {
		t.Fatal("Beat of a detached connector reported true")
	}
	if _, _, _, err := r.DialGroup(t.Context(), "g", []string{"b"}, false); !errors.Is(err, ErrNoConnector) {
		t.Fatalf("DialGroup avoiding the only connector left = %v, want ErrNoConnector", err)
	}

	// Re-attaching after a full detach starts a fresh connector.
	s4, _ := newTunnel(t, "a")
	d4 := r.Attach("a", "g", s4)
	defer d4()
	r.Evict("b")
	select {
	case <-s3.CloseChan():
	case <-time.After(5 * time.Second):
		t.Fatal("Evict did not close b's session")
	}
	if s4.IsClosed() {
		t.Fatal("Evict(b) closed a's session")
	}
	r.Evict("nobody") // unknown ids are ignored
	d3()
	if got := statuses(r); got != "g/a active=true sessions=1 inflight=0; " {
		t.Fatalf("after evicting b: %s", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDialGroupNoConnector(t *testing.T) {
	clock := newClock()
	r := New(clock, 10*time.Second)
	sa, _ := newTunnel(t, "a")
	r.Attach("a", "paris", sa)
	tests := []struct {
		name  string
		group string
		avoid []string
		setup func()
	}{
		{"unknown group", "berlin", nil, nil},
		{"every connector avoided", "paris", []string{"a"}, nil},
		{"only connector inactive", "paris", nil, func() { clock.Advance(11 * time.Second); r.Sweep() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			conn, id, release, err := r.DialGroup(t.Context(), tt.group, tt.avoid, false)
			if !errors.Is(err, ErrNoConnector) {
				t.Fatalf("DialGroup = %v, %q, %v; want ErrNoConnector", conn, id, err)
			}
			if !strings.Contains(err.Error(), `"`+tt.group+`"`) {
				t.Fatalf("error %q does not name the group", err)
			}
			if release != nil {
				t.Fatal("release func returned with an error")
			}
		})
	}
	if got := statuses(r); got != "paris/a active=false sessions=1 inflight=0; " {
		t.Fatalf("failed dials leaked in-flight counts: %s", got)
	}
}

// With two candidates, power of two choices compares both: the connector
// with fewer in-flight streams always wins.
func TestDialGroupPrefersFewerInFlight(t *testing.T) {
	r := New(newClock(), time.Minute)
	sa, pa := newTunnel(t, "a")
	sb, pb := newTunnel(t, "b")
	r.Attach("a", "g", sa)
	r.Attach("b", "g", sb)

	var heldA []func()
	for range 3 {
		st, id, release, err := r.DialGroup(t.Context(), "g", []string{"b"}, false)
		if err != nil || id != "a" {
			t.Fatalf("DialGroup avoiding b = %q, %v", id, err)
		}
		if _, err := st.Write([]byte("to a")); err != nil {
			t.Fatal(err)
		}
		heldA = append(heldA, release)
	}
	if got := <-pa.first; got != "to a" {
		t.Fatalf("a's stream carried %q", got)
	}
	for i := range 3 {
		st, id, release, err := r.DialGroup(t.Context(), "g", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if id != "b" {
			t.Fatalf("dial %d went to %s with in-flight %s", i, id, statuses(r))
		}
		if _, err := st.Write([]byte("to b")); err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	if got := <-pb.first; got != "to b" {
		t.Fatalf("b's stream carried %q", got)
	}
	if got := statuses(r); got != "g/a active=true sessions=1 inflight=3; g/b active=true sessions=1 inflight=3; " {
		t.Fatalf("in-flight counts: %s", got)
	}
	for _, release := range heldA {
		release()
	}
	if _, id, release, err := r.DialGroup(t.Context(), "g", nil, false); err != nil || id != "a" {
		t.Fatalf("after a's streams ended DialGroup = %q, %v; want a", id, err)
	} else {
		release()
	}
}

// With more candidates, the busiest connector is never picked: whichever
// two are drawn, one of them has fewer streams.
func TestDialGroupAvoidsBusiest(t *testing.T) {
	r := New(newClock(), time.Minute)
	for _, id := range []string{"busy", "x", "y", "z"} {
		s, _ := newTunnel(t, id)
		r.Attach(id, "g", s)
	}
	for range 5 {
		_, _, release, err := r.DialGroup(t.Context(), "g", []string{"x", "y", "z"}, false)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	picked := map[string]int{}
	for range 300 {
		st, id, release, err := r.DialGroup(t.Context(), "g", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		picked[id]++
		st.Close()
		release()
	}
	if picked["busy"] != 0 {
		t.Fatalf("the connector with 5 in-flight streams got %d of 300 dials: %v", picked["busy"], picked)
	}
	for _, id := range []string{"x", "y", "z"} {
		if picked[id] < 30 {
			t.Fatalf("idle connectors are not shared: %v", picked)
		}
	}
	// avoid is honoured whatever the load.
	for range 50 {
		_, id, release, err := r.DialGroup(t.Context(), "g", []string{"x", "y"}, false)
		if err != nil {
			t.Fatal(err)
		}
		release()
		if id != "z" {
			t.Fatalf("DialGroup avoiding x and y picked %s", id)
		}
	}
}

// A connector whose session died (but is not yet detached) is skipped: the
// request goes to another connector and the dead one's count is restored.
func TestDialGroupSkipsDeadSession(t *testing.T) {
	r := New(newClock(), time.Minute)
	sa, pa := newTunnel(t, "a")
	sb, _ := newTunnel(t, "b")
	r.Attach("a", "g", sa)
	r.Attach("b", "g", sb)
	pa.client.Close() // the connector went away
	select {
	case <-sa.CloseChan():
	case <-time.After(5 * time.Second):
		t.Fatal("gateway session did not notice the connector leaving")
	}
	for range 20 {
		_, id, release, err := r.DialGroup(t.Context(), "g", nil, false)
		if err != nil || id != "b" {
			t.Fatalf("DialGroup = %q, %v; want b", id, err)
		}
		release()
	}
	if got := statuses(r); got != "g/a active=true sessions=1 inflight=0; g/b active=true sessions=1 inflight=0; " {
		t.Fatalf("after dials around a dead session: %s", got)
	}
	sb.Close()
	_, _, _, err := r.DialGroup(t.Context(), "g", nil, false)
	if !errors.Is(err, ErrNoConnector) {
		t.Fatalf("DialGroup with every session dead = %v, want ErrNoConnector", err)
	}
	if got := statuses(r); !strings.Contains(got, "g/a active=true sessions=1 inflight=0; g/b active=true sessions=1 inflight=0; ") {
		t.Fatalf("failed dials leaked in-flight counts: %s", got)
	}
}

// Everything at once, for the race detector.
func TestConcurrentUse(t *testing.T) {
	clock := newClock()
	r := New(clock, time.Second)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 4 {
		s, _ := newTunnel(t, fmt.Sprint("c", i))
		detach := r.Attach(fmt.Sprint("c", i), "g", s)
		defer detach()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				st, _, release, err := r.DialGroup(t.Context(), "g", nil, false)
				if err == nil {
					st.Close()
					release()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			clock.Advance(300 * time.Millisecond)
			r.Beat(fmt.Sprint("c", i%4))
			r.Sweep()
			r.List()
			s, _ := newTunnel(t, "extra")
			r.Attach("extra", "g", s)()
		}
	}()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	for _, s := range r.List() {
		if s.InFlight != 0 {
			t.Fatalf("in-flight count leaked: %+v", s)
		}
	}
}

func BenchmarkDialGroup(b *testing.B) {
	r := New(newClock(), time.Minute)
	for i := range 4 {
		gw, conn := net.Pipe()
		cfg := yamux.DefaultConfig()
		cfg.LogOutput = io.Discard
		server, _ := yamux.Server(gw, cfg)
		client, _ := yamux.Client(conn, cfg)
		go func() {
			for {
				st, err := client.AcceptStream()
				if err != nil {
					return
				}
				st.Close()
			}
		}()
		b.Cleanup(func() { server.Close(); client.Close() })
		r.Attach(fmt.Sprint("c", i), "g", server)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			st, _, release, err := r.DialGroup(b.Context(), "g", nil, false)
			if err != nil {
				b.Error(err)
				return
			}
			st.Close()
			release()
		}
	})
}
