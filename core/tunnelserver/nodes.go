package tunnelserver

import (
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/tunnel"
)

// SetNodes sets the gateway nodes that connectors keep sessions to (the
// live members of the cluster, this node included) and sends the list
// in a nodes message on every live session's control stream; every
// session opened later gets the current list right after its config.
//
// A list that fails tunnel.NodeList.Check (over tunnel.MaxNodes nodes,
// an address that is not a dialable HOST:PORT) is refused with that
// error and the previous list stays. An empty list (nil) is stored and
// sends nothing: a node outside a cluster never calls SetNodes, and its
// connectors keep dialling the addresses they were enrolled with. Each
// session receives the lists in the order they were set, and a list equal
// to the current one is not sent again.
func (h *Hub) SetNodes(nodes []tunnel.NodeInfo) error {
	list := &tunnel.NodeList{Nodes: slices.Clone(nodes)}
	if err := list.Check(); err != nil {
		return fmt.Errorf("tunnel: %w", err)
	}
	h.mu.Lock()
	if slices.Equal(h.nodes, list.Nodes) {
		h.mu.Unlock()
		return nil
	}
	h.nodes = list.Nodes
	ss := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		ss = append(ss, s)
	}
	h.mu.Unlock()
	for _, s := range ss {
		h.sendNodes(s)
	}
	return nil
}

// Nodes returns the node list set last (nil: none).
func (h *Hub) Nodes() []tunnel.NodeInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.nodes)
}

// sendNodes sends s the current node list, if there is one and s was not
// sent it last. It reads
// the list while holding the session's write lock, so whichever of two
// concurrent sends writes last sends the newer list.
func (h *Hub) sendNodes(s *session) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	h.mu.Lock()
	nodes := h.nodes
	h.mu.Unlock()
	// The session's start and a SetNodes at that moment may both send
	// the same list: it goes once.
	if len(nodes) == 0 || slices.Equal(nodes, s.sentNodes) {
		return
	}
	s.sentNodes = nodes
	if err := s.sendLocked(tunnel.Message{Type: tunnel.MsgNodes, Nodes: &tunnel.NodeList{Nodes: nodes}}); err != nil {
		s.log.Warn("sending the node list to connector", "error", err)
		s.mux.Close()
	}
}
