package tunnelserver

import "github.com/gatehouse/gatehouse/tunnel"

// report hands the connector's own metrics in a heartbeat to Hub.Reports,
// labelled with the session's connector id (from its certificate) and
// group (from the store), never with names the message could choose. A
// connector that sends none (older versions) is simply absent.
func (h *Hub) report(s *session, hb *tunnel.Heartbeat) {
	if h.Reports == nil || hb == nil || hb.Metrics == nil {
		return
	}
	h.Reports(s.id, s.group, hb.Metrics)
}
