package tunnelserver

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/tunnel"
)

// A connector's drain takes its session out of the picks and is answered
// with drained; a stream opened before keeps working, and a ready sent
// after (for a pushed config) does not put the session back.
func TestDrainAnswersAndStopsPicks(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	log := slog.New(slog.DiscardHandler)
	reg := registry.New(clock, time.Minute)
	h := &Hub{Logger: log, Store: &touchStore{}, Registry: reg, Clock: clock,
		Config: func(string) *tunnel.Config { return &tunnel.Config{Version: 1} }}
	mux, control := pipeSession(t, h)
	send := func(m tunnel.Message) {
		t.Helper()
		if err := tunnel.WriteFrame(control, m); err != nil {
			t.Fatalf("sending %s: %v", m.Type, err)
		}
	}
	read := func(want string) {
		t.Helper()
		var m tunnel.Message
		if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != want {
			t.Fatalf("want %s, got %+v, %v", want, m, err)
		}
	}
	send(tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "test"}})
	read(tunnel.MsgConfig)
	send(tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1}})
	waitUntil(t, "the session to attach", func() bool { return len(reg.List()) == 1 })

	// A request in flight when the drain starts.
	gwStream, _, release, err := reg.DialGroup(t.Context(), "default", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	connStream, err := mux.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}

	send(tunnel.Message{Type: tunnel.MsgDrain})
	read(tunnel.MsgDrained)
	if st := reg.List(); len(st) != 1 || st[0].Draining != 1 {
		t.Fatalf("registry after drain: %+v, want the session draining", st)
	}
	if _, _, _, err := reg.DialGroup(t.Context(), "default", nil, false); !errors.Is(err, registry.ErrNoConnector) {
		t.Fatalf("DialGroup after the drain = %v, want ErrNoConnector", err)
	}
	send(tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1}})
	send(tunnel.Message{Type: tunnel.MsgDrain}) // answered in order: the ready was handled
	read(tunnel.MsgDrained)
	if _, _, _, err := reg.DialGroup(t.Context(), "default", nil, false); !errors.Is(err, registry.ErrNoConnector) {
		t.Fatalf("DialGroup after a ready that followed the drain = %v, want ErrNoConnector", err)
	}

	// The stream opened before the drain still carries its exchange.
	go func() { _, _ = gwStream.Write([]byte("ping")); gwStream.Close() }()
	got, err := io.ReadAll(connStream)
	if err != nil || string(got) != "ping" {
		t.Fatalf("the stream opened before the drain read %q, %v", got, err)
	}
	connStream.Close()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
