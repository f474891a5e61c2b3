package connector

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestStreamClock checks the sweeper's two limits: a wait for a request
// head that passes its limit ends the blocked read (and a head that came
// anyway is served on a clean stream), and a backend call that passes
// slowBackend starts the watcher, once.
func TestStreamClock(t *testing.T) {
	gw, conn := net.Pipe()
	defer gw.Close()
	var sw sweeper
	c := sw.add(conn)
	defer sw.remove(c)

	now := time.Now()
	c.waitHead(now.Add(time.Minute))
	c.check(now.Add(59 * time.Second)) // not yet
	read := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := conn.Read(b[:])
		read <- err
	}()
	select {
	case err := <-read:
		t.Fatalf("read ended before the limit: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	c.check(now.Add(61 * time.Second))
	select {
	case err := <-read:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read ended with %v, want a deadline error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the expired wait did not end the read")
	}
	c.gotHead() // clears the past deadline
	go gw.Write([]byte("x"))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		t.Fatalf("read after the wait ended: %v", err)
	}

	var slow atomic.Int64
	c.backendCall(func() { slow.Add(1) })
	c.check(time.Now())
	if slow.Load() != 0 {
		t.Fatal("watch started before slowBackend")
	}
	c.check(time.Now().Add(slowBackend))
	c.check(time.Now().Add(2 * slowBackend))
	if slow.Load() != 1 {
		t.Fatalf("watch started %d times, want once", slow.Load())
	}
	c.backendDone()
	c.backendCall(func() { slow.Add(1) })
	c.backendDone()
	c.check(time.Now().Add(time.Hour))
	if slow.Load() != 1 {
		t.Fatal("watch started for a backend call that had ended")
	}
}
