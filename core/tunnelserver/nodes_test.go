package tunnelserver

import (
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/tunnel"
)

// nodeTestSession opens a connector session on h and returns its control
// stream, after the hello.
func nodeTestSession(t *testing.T, h *Hub) net.Conn {
	t.Helper()
	_, control := pipeSession(t, h)
	if err := tunnel.WriteFrame(control, tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "test"}}); err != nil {
		t.Fatal(err)
	}
	return control
}

func readMsg(t *testing.T, control net.Conn, want string) tunnel.Message {
	t.Helper()
	var m tunnel.Message
	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != want {
		t.Fatalf("want %s, got %+v, %v", want, m, err)
	}
	return m
}

// SetNodes sends the list on every live session, and a new session gets
// the current list right after its config; a bad list is refused and the
// previous one stays; the same list is not sent twice.
func TestSetNodesReachesEverySession(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	h := &Hub{Logger: slog.New(slog.DiscardHandler), Store: &touchStore{}, Registry: registry.New(clock, time.Minute), Clock: clock,
		Config: func(string) *tunnel.Config { return &tunnel.Config{Version: 1} }}

	// No list set: a session gets its config and nothing else.
	first := nodeTestSession(t, h)
	readMsg(t, first, tunnel.MsgConfig)

	one := []tunnel.NodeInfo{{ID: "a", Addr: "10.0.0.1:7443"}, {ID: "b", Addr: "10.0.0.2:7443", Draining: true}}
	if err := h.SetNodes(one); err != nil {
		t.Fatal(err)
	}
	if m := readMsg(t, first, tunnel.MsgNodes); !reflect.DeepEqual(m.Nodes.Nodes, one) {
		t.Fatalf("live session got %+v, want %+v", m.Nodes, one)
	}
	second := nodeTestSession(t, h)
	readMsg(t, second, tunnel.MsgConfig)
	if m := readMsg(t, second, tunnel.MsgNodes); !reflect.DeepEqual(m.Nodes.Nodes, one) {
		t.Fatalf("new session got %+v, want %+v", m.Nodes, one)
	}

	for _, bad := range [][]tunnel.NodeInfo{{{Addr: ":7443"}}, {{Addr: "no-port"}}, make([]tunnel.NodeInfo, tunnel.MaxNodes+1)} {
		if err := h.SetNodes(bad); err == nil || !strings.Contains(err.Error(), "node list") {
			t.Fatalf("SetNodes(%d nodes, first %q) = %v, want a node list error", len(bad), bad[0].Addr, err)
		}
	}
	if got := h.Nodes(); !reflect.DeepEqual(got, one) {
		t.Fatalf("after refused lists the hub has %+v, want %+v", got, one)
	}
	if err := h.SetNodes(one); err != nil { // unchanged: not sent
		t.Fatal(err)
	}
	two := []tunnel.NodeInfo{{ID: "a", Addr: "10.0.0.1:7443"}}
	if err := h.SetNodes(two); err != nil {
		t.Fatal(err)
	}
	for _, c := range []net.Conn{first, second} {
		if m := readMsg(t, c, tunnel.MsgNodes); !reflect.DeepEqual(m.Nodes.Nodes, two) {
			t.Fatalf("after the change a session got %+v, want %+v (the bad and repeated lists are never sent)", m.Nodes, two)
		}
	}
}
