package yamux

// Tests of patch 2, AdaptiveWindow (PATCHES.md). They assert window
// values and the window updates sent, never wall times: the tuning's
// clock is the test's.

import (
	"io"
	"math/rand"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is the tuning's clock, moved only by the test.
type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) time() time.Time         { return time.Unix(0, c.now.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.now.Add(int64(d)) }

// readerAt drives a stream whose reader reads 32 KiB every perRead (the
// test's clock), its peer always sending all the window allows, in
// frames of up to 64 KiB. It returns the window target after each read,
// and checks after each that granted and buffered bytes stay within it.
func readerAt(t *testing.T, l *loneStream, rtt, perRead time.Duration, reads int) []uint32 {
	t.Helper()
	clock := &fakeClock{}
	l.session.recordRTT(rtt)
	l.session.patch.now = clock.time
	rng := rand.New(rand.NewSource(3))
	buf := make([]byte, 32<<10)
	var targets []uint32
	for i := 0; i < reads; i++ {
		for { // the peer sends all it may
			w, _ := l.granted()
			if w == 0 {
				break
			}
			if err := l.feed(randomBytes(rng, int(min(w, 64<<10)))); err != nil {
				t.Fatal(err)
			}
		}
		clock.advance(perRead)
		if _, err := l.Read(buf); err != nil { // sends the window updates
			t.Fatal(err)
		}
		w, b := l.granted()
		l.recvLock.Lock()
		target := l.windowTarget()
		l.recvLock.Unlock()
		if w+b > target || target > l.session.config.MaxStreamWindowSize {
			t.Fatalf("granted %d + buffered %d beyond the target %d (max %d)", w, b, target, l.session.config.MaxStreamWindowSize)
		}
		targets = append(targets, target)
	}
	return targets
}

// A reader that keeps up with a window per RTT doubles its window, step
// by step, up to MaxStreamWindowSize; a slow one stays at 256 KiB, and so
// do the window updates it sends.
func TestPatchAdaptiveWindowTuning(t *testing.T) {
	const rtt = 100 * time.Millisecond
	t.Run("fast reader grows to the max", func(t *testing.T) {
		l := newLoneStream(t, patchConf(true, true, false))
		targets := readerAt(t, l, rtt, time.Millisecond, 600) // 32 MB/s
		prev := initialStreamWindow
		for _, target := range targets {
			if target != prev && target != 2*prev {
				t.Fatalf("the window went from %d to %d; it only doubles: %v", prev, target, targets)
			}
			prev = target
		}
		if prev != 4<<20 {
			t.Fatalf("a fast reader's window ended at %d, want the max %d", prev, 4<<20)
		}
		var big bool
		for _, u := range l.sentUpdates() {
			big = big || u > initialStreamWindow
		}
		if !big {
			t.Error("no window update offered more than 256 KiB")
		}
	})
	t.Run("slow reader stays at 256 KiB", func(t *testing.T) {
		l := newLoneStream(t, patchConf(true, true, false))
		for _, target := range readerAt(t, l, rtt, 50*time.Millisecond, 200) { // 640 KB/s
			if target != initialStreamWindow {
				t.Fatalf("a reader at 640 KB/s over a 100 ms RTT got window %d, want %d", target, initialStreamWindow)
			}
		}
		updates := l.sentUpdates()
		if len(updates) < 10 {
			t.Fatalf("only %d window updates in 6 MiB read", len(updates))
		}
		for _, u := range updates {
			if u > initialStreamWindow/2+32<<10 {
				t.Fatalf("window update of %d for a 256 KiB window", u)
			}
		}
	})
	t.Run("no RTT yet: the default", func(t *testing.T) {
		l := newLoneStream(t, patchConf(true, true, false))
		l.session.patch.now = (&fakeClock{}).time
		if got := l.session.tuningRTT(); got != defaultRTT {
			t.Fatalf("tuning RTT before any ping %v, want %v", got, defaultRTT)
		}
	})
	t.Run("off: upstream offers the max at once", func(t *testing.T) {
		l := newLoneStream(t, patchConf(true, false, false))
		targets := readerAt(t, l, rtt, 50*time.Millisecond, 2)
		if targets[0] != 4<<20 {
			t.Fatalf("without the patch the window is %d, want MaxStreamWindowSize", targets[0])
		}
	})
}

// Over a link with a real 100 ms round trip (and the session's first
// ping to measure it), a stream read as fast as it arrives grows its
// window to the max; one nobody reads holds 256 KiB, where upstream's
// holds the whole 4 MiB.
func TestPatchAdaptiveWindowOverDelayedLink(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: moves 24 MiB over a simulated 100 ms link")
	}
	a, b := net.Pipe()
	client, server := testClientServerConfig(t, newDelayedConn(a), newDelayedConn(b),
		patchConf(true, true, true), patchConf(true, true, true))
	const size = 24 << 20
	go func() {
		s, err := server.AcceptStream()
		if err != nil {
			return
		}
		buf := make([]byte, 256<<10)
		for sent := 0; sent < size; sent += len(buf) {
			if _, err := s.Write(buf); err != nil {
				return
			}
		}
		s.Close()
	}()
	s, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, s); n != size || err != nil {
		t.Fatalf("read %d of %d bytes: %v", n, size, err)
	}
	if client.RTT() < 100*time.Millisecond {
		t.Errorf("the session's RTT is %v over a 100 ms link", client.RTT())
	}
	s.recvLock.Lock()
	target := s.windowTarget()
	s.recvLock.Unlock()
	if target != 4<<20 {
		t.Errorf("a fast reader's window over a long link is %d, want the max %d", target, 4<<20)
	}

	for _, adaptive := range []bool{true, false} {
		want := uint32(initialStreamWindow)
		if !adaptive {
			want = 4 << 20
		}
		if got := unreadHolds(t, patchConf(true, adaptive, false)); got != want {
			t.Errorf("AdaptiveWindow=%v: a stream nobody reads holds %d bytes, want %d", adaptive, got, want)
		}
	}
}

// unreadHolds opens a stream, has the peer write 8 MiB to it, never reads
// it, and returns what it buffers once the writer is out of window.
func unreadHolds(t *testing.T, conf *Config) uint32 {
	a, b := net.Pipe()
	client, server := testClientServerConfig(t, a, b, conf, conf)
	sent := make(chan *Stream, 1)
	go func() {
		s, err := server.AcceptStream()
		if err != nil {
			return
		}
		sent <- s
		_, _ = s.Write(make([]byte, 8<<20))
	}()
	s, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	w := <-sent
	deadline := time.Now().Add(30 * time.Second)
	for { // wait for the writer to run out of window
		if atomic.LoadUint32(&w.sendWindow) == 0 {
			s.recvLock.Lock()
			held, window := s.bufferedLen(), s.recvWindow
			s.recvLock.Unlock()
			if window == 0 {
				return held
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer never ran out of window")
		}
		time.Sleep(time.Millisecond)
	}
}

// delayedConn delivers each write to its peer 50 ms later.
type delayedConn struct {
	net.Conn
	q chan delayedWrite
}

type delayedWrite struct {
	at time.Time
	b  []byte
}

func newDelayedConn(c net.Conn) *delayedConn {
	d := &delayedConn{Conn: c, q: make(chan delayedWrite, 4096)}
	go func() {
		for w := range d.q {
			time.Sleep(time.Until(w.at))
			if _, err := c.Write(w.b); err != nil {
				return
			}
		}
	}()
	return d
}

func (d *delayedConn) Write(p []byte) (int, error) {
	d.q <- delayedWrite{time.Now().Add(50 * time.Millisecond), append([]byte(nil), p...)}
	return len(p), nil
}
