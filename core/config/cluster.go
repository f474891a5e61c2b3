package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
	"unicode"
)

// Cluster names this node among the gateway nodes that share one store
// (store.driver postgres). Each node reads its own config file.
type Cluster struct {
	// NodeID names this node in the store's node list, in 'gatehouse
	// status' and in its connectors' logs. Default: the node's address
	// for connectors (the first tunnel.advertise entry), which is unique
	// per node by definition.
	NodeID string `yaml:"node_id"`
}

// Shutdown is what a node does on SIGTERM.
type Shutdown struct {
	// DrainDelay is how long the node keeps serving after SIGTERM with
	// /readyz unready and its connectors told it is draining, so that the
	// load balancer's health check and the connectors move away before
	// it stops accepting. Set it to at least twice the load balancer's
	// check interval when several nodes run. Default 0.
	DrainDelay Duration `yaml:"drain_delay"`
	// Timeout bounds how long the requests in flight then get to finish.
	// Default 10s.
	Timeout Duration `yaml:"timeout"`
}

const (
	defaultShutdownTimeout = Duration(10 * time.Second)
	maxNodeID              = 128
	maxDrainDelay          = Duration(10 * time.Minute)
)

func (l *loader) clusterDefaults(c *Config) {
	if c.Cluster.NodeID == "" && len(c.Tunnel.Advertise) > 0 {
		c.Cluster.NodeID = c.Tunnel.Advertise[0]
		l.defaulted["cluster.node_id"] = true
	}
	l.dur(&c.Shutdown.DrainDelay, "shutdown.drain_delay", 0)
	l.dur(&c.Shutdown.Timeout, "shutdown.timeout", defaultShutdownTimeout)
}

func (l *loader) checkCluster(c *Config) {
	id := c.Cluster.NodeID
	switch {
	case len(id) > maxNodeID:
		l.errorf("cluster.node_id", "is %d bytes long; use at most %d", len(id), maxNodeID)
	case !printableID(id):
		l.errorf("cluster.node_id", "must be printable characters without spaces, such as gw-1 or gw-1.example.com:8444")
	}
	if d := c.Shutdown.DrainDelay; d < 0 || d > maxDrainDelay {
		l.errorf("shutdown.drain_delay", "%s is out of range (0 to %s)", d.D(), maxDrainDelay.D())
	}
	if d := c.Shutdown.Timeout; d <= 0 || d > maxDrainDelay {
		l.errorf("shutdown.timeout", "%s is out of range (more than 0, at most %s)", d.D(), maxDrainDelay.D())
	}
}

// printableID: not empty, and only printable characters other than space.
func printableID(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// sharedSum is the SHA-256 of c without what each node of a cluster
// sets for itself (its listeners, tunnel.advertise, cluster, shutdown,
// data_dir, store, log, the file's path) and without the store's
// connection string: two nodes with the same apps, plug-ins, filters,
// groups, sessions and TLS get the same sum. JSON, not YAML: it is
// quick enough to take at every load (10,000 apps included).
func sharedSum(c *Config) string {
	v := *c
	v.Path, v.Warnings, v.SHA256, v.DataDir = "", nil, "", ""
	v.Listen, v.Cluster, v.Shutdown, v.Store, v.Log = Listen{}, Cluster{}, Shutdown{}, Store{}, Log{}
	v.Tunnel.Advertise = nil
	b, err := json.Marshal(&v)
	if err != nil { // every field is plain data; a failure would be a bug
		return "unknown: " + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
