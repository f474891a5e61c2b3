package tunnelserver

import (
	"context"
	"time"
)

// RemovalCheck is how often each gateway node looks in the store for
// connectors removed while their tunnels are up ('gatehouse connectors
// remove', or the sweep of long-inactive ones): one ListConnectors read.
// A heartbeat of a removed connector notices it too (TouchConnector says
// ErrNotFound).
const RemovalCheck = 2 * time.Second

// RetireGrace bounds how long the requests in flight on a removed
// connector's tunnels may take to finish before the tunnels close.
const RetireGrace = 5 * time.Second

// watchRemovals runs CheckRemovals every RemovalCheck until ctx is done.
func (h *Hub) watchRemovals(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(RemovalCheck):
			h.CheckRemovals(ctx)
		}
	}
}

// CheckRemovals retires every live session whose connector is no longer
// in the store. A store that cannot be read changes nothing: a database
// blip must not close healthy tunnels.
func (h *Hub) CheckRemovals(ctx context.Context) {
	// The sessions first: each was admitted after its connector was read
	// from the store, so a list read after this snapshot names every
	// connector that has not been removed since.
	h.mu.Lock()
	live := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		live = append(live, s)
	}
	h.mu.Unlock()
	if len(live) == 0 {
		return
	}
	list, err := h.Store.ListConnectors(ctx)
	if err != nil {
		h.Logger.Debug("looking for removed connectors", "error", err)
		return
	}
	known := make(map[string]bool, len(list))
	for _, c := range list {
		known[c.ID] = true
	}
	for _, s := range live {
		if !known[s.id] {
			go h.retire(s)
		}
	}
}

// retire ends the session of a removed connector without failing a
// request: no new request is sent to it (Registry.Drain), the requests in
// flight get up to RetireGrace to finish, then the connector is told it
// was removed (a fatal error: it stops rather than reconnects) and the
// tunnel closes. Its certificate is refused from then on, because the
// handshake looks the connector up in the store.
func (h *Hub) retire(s *session) {
	s.retireOnce.Do(func() {
		s.log.Warn("connector removed: no new requests to it; closing its tunnel once its requests in flight finish",
			"grace", RetireGrace.String())
		h.Registry.Drain(s.mux)
		deadline := time.Now().Add(RetireGrace)
		for h.Registry.InFlight(s.id) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := h.Registry.InFlight(s.id); n > 0 {
			s.log.Warn("connector removed: closing its tunnel with requests still in flight", "in_flight", n)
		}
		s.refuse("this connector was removed from the gateway (by an operator, or inactive too long): enroll it again with a new token", true)
	})
}
