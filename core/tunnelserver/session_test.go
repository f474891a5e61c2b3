package tunnelserver

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/tunnel"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// touchStore knows one connector and records the times of its heartbeats.
type touchStore struct {
	store.Store // only the methods below are called
	mu          sync.Mutex
	touches     []time.Time
	blobs       map[string][]byte
}

func (s *touchStore) PutBlob(_ context.Context, key string, value []byte, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blobs == nil {
		s.blobs = map[string][]byte{}
	}
	s.blobs[key] = value
	return nil
}

func (s *touchStore) GetBlob(_ context.Context, key string) (store.Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[key]
	if !ok {
		return store.Blob{}, store.ErrNotFound
	}
	return store.Blob{Key: key, Value: b}, nil
}

func (s *touchStore) GetConnector(_ context.Context, id string) (store.Connector, error) {
	return store.Connector{ID: id, Group: "default", CertSerial: "1"}, nil
}

func (s *touchStore) TouchConnector(_ context.Context, _ string, seen time.Time, _, _ string) error {
	s.mu.Lock()
	s.touches = append(s.touches, seen)
	s.mu.Unlock()
	return nil
}

func (s *touchStore) seen() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.touches...)
}

// A connector that sends heartbeats in a loop gets at most one store write
// per touchEvery: its flood is not everyone's wait for the store.
func TestHeartbeatFloodWritesTheStoreOncePerInterval(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	st := &touchStore{}
	log := slog.New(slog.DiscardHandler)
	h := &Hub{Logger: log, Store: st, Registry: registry.New(clock, time.Minute), Clock: clock,
		Config: func(string) *tunnel.Config { return &tunnel.Config{Version: 1} }}
	_, control := pipeSession(t, h)
	send := func(m tunnel.Message) {
		t.Helper()
		if err := tunnel.WriteFrame(control, m); err != nil {
			t.Fatalf("sending %s: %v", m.Type, err)
		}
	}
	send(tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "test"}})
	var m tunnel.Message
	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != tunnel.MsgConfig {
		t.Fatalf("want the config, got %+v, %v", m, err)
	}
	send(tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1}})
	// The ready's write happens before the clock moves, however late the
	// session reads its control stream.
	waitUntil(t, "the ready's store write", func() bool { return len(st.seen()) == 1 })
	for range 500 {
		send(tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &tunnel.Heartbeat{}})
	}
	// One more heartbeat a touchEvery later: once it is written, every
	// heartbeat before it has been handled (one control stream, in order).
	clock.Advance(touchEvery)
	later := clock.Now()
	send(tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &tunnel.Heartbeat{}})
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen := st.seen()
		if len(seen) > 0 && seen[len(seen)-1].Equal(later) {
			if len(seen) != 2 {
				t.Fatalf("%d store writes for ready, 500 heartbeats in a burst and one a second later; want 2", len(seen))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last heartbeat was not written within 20s (%d writes so far)", len(seen))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
