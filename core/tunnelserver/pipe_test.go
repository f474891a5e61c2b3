package tunnelserver

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/hashicorp/yamux"

	"github.com/gatehouse/gatehouse/tunnel"
)

// pipeSession serves a session of connector c-1 (certificate serial 1)
// on h over an in-memory pipe and returns the connector's end: its
// yamux session and the control stream it opened. t.Cleanup ends both.
func pipeSession(t *testing.T, h *Hub) (*yamux.Session, net.Conn) {
	t.Helper()
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	server, client := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.serveSession(ctx, server, "c-1", "1", log) }()
	t.Cleanup(func() { cancel(); client.Close(); <-done })
	mux, err := yamux.Client(client, tunnel.MuxConfig(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mux.Close() })
	control, err := mux.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	return mux, control
}
