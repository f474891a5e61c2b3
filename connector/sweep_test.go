package connector

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/tunnel"
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

// TestSlowBackendAbandoned checks the whole path for a backend that does
// not answer: after slowBackend the sweeper starts the watcher, the
// gateway's close then cancels the request, and the lean client's backend
// connection is dropped at once.
func TestSlowBackendAbandoned(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	backendGone := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var b [4096]byte
		for { // read the request, never answer, notice the close
			if _, err := c.Read(b[:]); err != nil {
				close(backendGone)
				return
			}
		}
	}()
	c := &Connector{log: slog.New(slog.DiscardHandler)}
	s := &session{c: c, log: c.log}
	a, err := newApp(tunnel.AppConfig{Name: "slow", URL: "http://" + ln.Addr().String()}, fastpath.All)
	if err != nil {
		t.Fatal(err)
	}
	s.apps.Store(&appTable{version: 1, apps: map[string]*app{"slow": a}, changed: make(chan struct{})})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go s.sweep.run(ctx)

	gw, conn := net.Pipe()
	served := make(chan struct{})
	go func() { s.serveStream(ctx, conn); close(served) }()
	head := tunnel.AppendRequestHeader(nil, tunnel.RequestHeader{App: "slow", RequestID: "r", ConfigVersion: 1})
	head = append(head, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"...)
	if _, err := gw.Write(head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(slowBackend + 2*sweepEvery) // the watcher is on
	gw.Close()                             // the client went away
	select {
	case <-backendGone:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend connection outlived the abandoned request")
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("serveStream did not return")
	}
}
