package registry

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// echoTunnel is a tunnel whose connector end echoes every stream whose
// first message is "echo" and reads the others without ever answering.
func echoTunnel(t *testing.T) *yamux.Session {
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
	go func() {
		for {
			st, err := client.AcceptStream()
			if err != nil {
				return
			}
			go func() {
				defer st.Close()
				first := make([]byte, 4)
				if _, err := io.ReadFull(st, first); err != nil {
					return
				}
				if string(first) == "echo" {
					_, _ = st.Write(first)
					_, _ = io.Copy(st, st)
					return
				}
				_, _ = io.Copy(io.Discard, st)
			}()
		}
	}()
	t.Cleanup(func() { server.Close(); client.Close() })
	return server
}

// When a connector goes silent, its streams still waiting for an answer
// fail at once (so that the proxy retries them elsewhere); a stream that
// is already answering goes on; a stream of a connector still beating is
// left alone.
func TestSweepFailsUnansweredStreams(t *testing.T) {
	clock := newClock()
	r := New(clock, 3*time.Second)
	r.Attach("a", "g", echoTunnel(t))
	r.Attach("b", "g", echoTunnel(t))
	dial := func(want, msg string) net.Conn {
		t.Helper()
		avoid := map[string][]string{"a": {"b"}, "b": {"a"}}[want]
		st, id, release, err := r.DialGroup(context.Background(), "g", avoid, false)
		if err != nil || id != want {
			t.Fatalf("DialGroup: %s %v, want connector %s", id, err, want)
		}
		t.Cleanup(func() { st.Close(); release() })
		if _, err := st.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		return st
	}
	read := func(st net.Conn) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := io.ReadFull(st, make([]byte, 4))
			done <- err
		}()
		return done
	}
	waiting, answering, other := dial("a", "wait"), dial("a", "echo"), dial("b", "wait")
	if err := <-read(answering); err != nil {
		t.Fatalf("the echo stream: %v", err)
	}
	waitingDone, otherDone := read(waiting), read(other)

	clock.Advance(2 * time.Second)
	r.Beat("b")
	clock.Advance(2 * time.Second)
	if swept := r.Sweep(); len(swept) != 1 || swept[0] != "a" {
		t.Fatalf("Sweep() = %v, want [a]", swept)
	}
	select {
	case err := <-waitingDone:
		if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, yamux.ErrTimeout) {
			t.Fatalf("the waiting stream of the silent connector failed with %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting stream of the silent connector still waits after the sweep")
	}
	// The answering stream still works: it echoes.
	if _, err := answering.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	if err := <-read(answering); err != nil {
		t.Fatalf("the answering stream of the silent connector failed: %v", err)
	}
	select {
	case err := <-otherDone:
		t.Fatalf("a stream of the connector still beating ended: %v", err)
	default:
	}
}
