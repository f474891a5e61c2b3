package tunnelserver

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// slowConn delays each write (the connector's answers, pings included)
// by delay, so the RTTs measured from then on are at least that.
type slowConn struct {
	net.Conn
	delay *atomic.Int64
}

func (c slowConn) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(c.delay.Load()))
	return c.Conn.Write(p)
}

// A session's RTT is measured with a ping once it is ready, and again at
// its group's heartbeat interval: the registry holds the latest, and
// stops listing it when the session ends.
func TestRTTMeasuredOnReadySessions(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	log := slog.New(slog.DiscardHandler)
	reg := registry.New(clock, time.Minute)
	h := &Hub{Logger: log, Store: &touchStore{}, Registry: reg, Clock: clock,
		Config: func(string) *tunnel.Config { return &tunnel.Config{Version: 1, HeartbeatMillis: 20} }}
	server, client := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.serveSession(ctx, server, "c-1", "1", log) }()
	defer func() { cancel(); client.Close(); <-done }()
	var delay atomic.Int64
	mux, err := yamux.Client(slowConn{client, &delay}, tunnel.MuxConfig(log))
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	control, err := mux.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := tunnel.WriteFrame(control, tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "v"}}); err != nil {
		t.Fatal(err)
	}
	var m tunnel.Message
	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != tunnel.MsgConfig {
		t.Fatalf("want config, got %+v %v", m, err)
	}
	if err := tunnel.WriteFrame(control, tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1}}); err != nil {
		t.Fatal(err)
	}
	rtt := func() time.Duration {
		for _, s := range reg.List() {
			if s.ID == "c-1" {
				return s.RTT
			}
		}
		return 0
	}
	waitUntil(t, "a first RTT", func() bool { return rtt() > 0 })
	// Later pings replace it: once the connector's answers take 50ms,
	// the RTT shown comes to reflect that.
	const slow = 50 * time.Millisecond
	delay.Store(int64(slow))
	waitUntil(t, "an RTT of the slower link", func() bool { return rtt() >= slow })
}
