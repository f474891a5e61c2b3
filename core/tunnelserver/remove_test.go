package tunnelserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/tunnel"
)

// removableStore knows connector c-1 until removed is set; with broken
// set, listing the connectors fails.
type removableStore struct {
	touchStore
	removed, broken atomic.Bool
}

func (s *removableStore) ListConnectors(context.Context) ([]store.Connector, error) {
	if s.broken.Load() {
		return nil, errors.New("database is down")
	}
	if s.removed.Load() {
		return nil, nil
	}
	return []store.Connector{{ID: "c-1", Group: "default", CertSerial: "1"}}, nil
}

// A removed connector's session takes no new request, lets the one in
// flight finish, then is told it was removed (fatal) and closes. A store
// that cannot be read closes nothing.
func TestCheckRemovalsRetiresARemovedConnector(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	log := slog.New(slog.DiscardHandler)
	reg := registry.New(clock, time.Minute)
	st := &removableStore{}
	h := &Hub{Logger: log, Store: st, Registry: reg, Clock: clock,
		Config: func(string) *tunnel.Config { return &tunnel.Config{Version: 1} }}
	mux, control := pipeSession(t, h)
	if err := tunnel.WriteFrame(control, tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "test"}}); err != nil {
		t.Fatal(err)
	}
	var m tunnel.Message
	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != tunnel.MsgConfig {
		t.Fatalf("want the config, got %+v, %v", m, err)
	}
	if err := tunnel.WriteFrame(control, tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the session to attach", func() bool { return len(reg.List()) == 1 })

	st.broken.Store(true)
	h.CheckRemovals(t.Context())
	if l := reg.List(); len(l) != 1 || l[0].Draining != 0 {
		t.Fatalf("after a failed store read the registry has %+v; want the session untouched", l)
	}
	st.broken.Store(false)
	h.CheckRemovals(t.Context())
	if l := reg.List(); len(l) != 1 || l[0].Draining != 0 {
		t.Fatalf("with the connector still in the store the registry has %+v; want the session untouched", l)
	}

	// A request in flight when the connector is removed.
	gwStream, _, release, err := reg.DialGroup(t.Context(), "default", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	connStream, err := mux.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	st.removed.Store(true)
	h.CheckRemovals(t.Context())
	waitUntil(t, "the session to drain", func() bool { l := reg.List(); return len(l) == 1 && l[0].Draining == 1 })
	if _, _, _, err := reg.DialGroup(t.Context(), "default", nil, false); !errors.Is(err, registry.ErrNoConnector) {
		t.Fatalf("DialGroup after the removal = %v, want ErrNoConnector", err)
	}
	go func() { _, _ = gwStream.Write([]byte("ping")); gwStream.Close() }()
	got, err := io.ReadAll(connStream)
	if err != nil || string(got) != "ping" {
		t.Fatalf("the request in flight at the removal read %q, %v; want it to finish", got, err)
	}
	connStream.Close()
	release()

	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != tunnel.MsgError || m.Error == nil ||
		!m.Error.Fatal || !strings.Contains(m.Error.Message, "removed") {
		t.Fatalf("after the removal the connector got %+v (error %+v), %v; want a fatal 'removed' error", m, m.Error, err)
	}
	waitUntil(t, "the tunnel to close", func() bool { return mux.IsClosed() })
	waitUntil(t, "the session to detach", func() bool { return len(reg.List()) == 0 })
}
