package tunnel

import (
	"fmt"
	"net"
	"strconv"
)

// MaxNodes bounds a NodeList: a connector keeps Sessions tunnels to every
// node, so a longer list is refused rather than dialled.
const MaxNodes = 64

// maxNodeID bounds a node's id, which connectors only log.
const maxNodeID = 256

// NodeList is the gateway nodes a connector keeps sessions to: the live
// members of the gateway's cluster, each with the tunnel address it
// advertises.
type NodeList struct {
	Nodes []NodeInfo `json:"nodes"`
}

// NodeInfo is one gateway node. A draining node is shutting down: a
// connector opens no new session to it and lets the open ones finish.
type NodeInfo struct {
	ID       string `json:"id,omitempty"`
	Addr     string `json:"addr"`
	Draining bool   `json:"draining,omitempty"`
}

// Check says what is wrong with a node list, if anything: more than
// MaxNodes nodes, or an address that is not HOST:PORT (a host and a port
// from 1 to 65535), or an id over 256 bytes. A connector refuses such a
// list whole and keeps the one it had.
func (l *NodeList) Check() error {
	if l == nil {
		return fmt.Errorf("node list: missing")
	}
	if len(l.Nodes) > MaxNodes {
		return fmt.Errorf("node list: %d nodes, more than the %d a connector keeps sessions to", len(l.Nodes), MaxNodes)
	}
	for i, n := range l.Nodes {
		if err := CheckNodeAddr(n.Addr); err != nil {
			return fmt.Errorf("node list: node %d (id %.64q): %w", i, n.ID, err)
		}
		if len(n.ID) > maxNodeID {
			return fmt.Errorf("node list: node %d: id of %d bytes, more than %d", i, len(n.ID), maxNodeID)
		}
	}
	return nil
}

// CheckNodeAddr checks that addr is a dialable HOST:PORT.
func CheckNodeAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %.300q is not HOST:PORT: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		return fmt.Errorf("address %q names no host a connector can dial (set tunnel.advertise on that node)", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("address %q: port %q is not a number from 1 to 65535", addr, port)
	}
	return nil
}
