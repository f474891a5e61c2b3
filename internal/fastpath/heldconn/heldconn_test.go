package heldconn

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// writeLog is a net.Conn that records each Write.
type writeLog struct {
	net.Conn // nil: only Write is used
	mu       sync.Mutex
	writes   [][]byte
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func TestHoldCollectsInOrder(t *testing.T) {
	log := &writeLog{}
	c := New(log)
	c.Write([]byte("a"))
	c.Hold()
	c.Write([]byte("b"))
	done := make(chan struct{})
	go func() { c.Write([]byte("c")); close(done) }() // e.g. a TLS alert from another goroutine
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a write from another goroutine blocked while held")
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	c.Hold()
	if err := c.Release(); err != nil { // nothing collected: no write
		t.Fatal(err)
	}
	c.Write([]byte("d"))
	want := [][]byte{[]byte("a"), []byte("bc"), []byte("d")}
	if len(log.writes) != len(want) {
		t.Fatalf("writes %q, want %q", log.writes, want)
	}
	for i := range want {
		if !bytes.Equal(log.writes[i], want[i]) {
			t.Fatalf("writes %q, want %q", log.writes, want)
		}
	}
}

func TestOf(t *testing.T) {
	if Of(&writeLog{}) != nil {
		t.Fatal("Of found a held conn under a plain connection")
	}
}

// Two holders take turns: the second waits for the first's Release, so
// each one's writes leave together and in order.
func TestHoldersTakeTurns(t *testing.T) {
	log := &writeLog{}
	c := New(log)
	c.Hold()
	c.Write([]byte("a1"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Hold()
		c.Write([]byte("b1"))
		if err := c.Release(); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(50 * time.Millisecond) // give the second holder time to (wrongly) get in
	c.Write([]byte("a2"))
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	<-done
	want := [][]byte{[]byte("a1a2"), []byte("b1")}
	if len(log.writes) != len(want) || !bytes.Equal(log.writes[0], want[0]) || !bytes.Equal(log.writes[1], want[1]) {
		t.Fatalf("writes %q, want %q", log.writes, want)
	}
}

// TestCloseWrite: a half-close reaches the TCP connection below, so the
// peer reads EOF while the connection can still be read.
func TestCloseWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := New(raw)
	defer c.Close()
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := peer.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("peer read %d, %v; want EOF", n, err)
	}
	peer.Write([]byte("x"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("reading after the half-close: %v", err)
	}
}
