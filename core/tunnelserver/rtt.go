package tunnelserver

import (
	"time"
)

// The tunnel's round-trip time is measured on the gateway's side, once
// per heartbeat interval per session, with a yamux ping (the heartbeats
// themselves go one way): one 12-byte frame each way, never on a
// request's path. The latest is kept in the registry (Registry.SetRTT),
// for the admin API, the console and gatehouse_tunnel_rtt_seconds.

// defaultPingEvery is the interval when the group's config names none.
const defaultPingEvery = 10 * time.Second

// measureRTT pings session s right away and then every heartbeat
// interval of its group's config until the session ends. A ping that
// fails (the session ended, or it timed out: the connector went silent,
// which the sweep reports) records nothing.
func (h *Hub) measureRTT(s *session) {
	for {
		if d, err := s.mux.Ping(); err == nil {
			h.Registry.SetRTT(s.mux, d)
		}
		t := time.NewTimer(h.pingEvery(s.group))
		select {
		case <-s.mux.CloseChan():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (h *Hub) pingEvery(group string) time.Duration {
	if c := h.Config(group); c != nil && c.HeartbeatMillis > 0 {
		return time.Duration(c.HeartbeatMillis) * time.Millisecond
	}
	return defaultPingEvery
}
