package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/cluster"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/tunnel"
)

// changeKeep is how long the store keeps the change feed: a node that
// was cut off for longer reloads its state instead of reading the feed.
const changeKeep = time.Hour

// clusterNode is this node's place among the gateway nodes sharing the
// store (core/cluster): its entry in the node list, the change feed it
// follows, and the revocations it holds in memory. A node on its own
// (SQLite) runs the same parts; only connectors are not told a node list,
// since there is no other node to dial.
type clusterNode struct {
	follower    *cluster.Follower
	members     *cluster.Membership
	revocations *cluster.Revocations
	shared      bool // store.driver postgres: connectors learn the node list
	running     sync.WaitGroup
}

// newCluster builds the cluster parts for cfg and loads the revocations,
// so that no session revoked before this node started gets through.
func (g *Gateway) newCluster(ctx context.Context, cfg *config.Config) error {
	st, log := g.opts.Store, g.log
	c := &clusterNode{
		follower:    cluster.NewFollower(st, cluster.FollowerOptions{Logger: log}),
		revocations: cluster.NewRevocations(st, cluster.RevocationsOptions{Logger: log}),
		shared:      cfg.Store.Driver == config.DriverPostgres,
	}
	c.members = cluster.NewMembership(st, store.Node{ID: cfg.Cluster.NodeID, TunnelAddr: cfg.Tunnel.Advertise[0],
		Version: g.opts.Version, ConfigHash: cfg.SHA256, ConfigAt: g.opts.Clock.Now()}, cluster.MembershipOptions{Logger: log})
	if err := c.revocations.Load(ctx); err != nil {
		return err
	}
	c.members.Follow(c.follower)
	c.revocations.Follow(c.follower)
	// A removal reaches every node's tunnels at once, not at the next
	// poll of the connector list (tunnelserver.RemovalCheck).
	c.follower.On(store.ChangeConnectorRemoved, func(ctx context.Context, _ store.Change) { g.hub.CheckRemovals(ctx) })
	g.followRollouts(c.follower) // rollout.go
	if c.shared {
		c.members.Subscribe(func(nodes []store.Node) {
			if err := g.hub.SetNodes(nodeInfos(nodes)); err != nil {
				log.Error("the node list cannot be sent to connectors; they keep the one they have", "error", err)
			}
		})
	}
	g.gate.Revocations = c.revocations
	// Every store answers from memory: a read per signed-in request was most
	// of sign-on's cost on SQLite. There, a commit by another process
	// ('gatehouse sessions revoke') changes the file's stamp, which sends
	// checks to the store until the follower delivered it (Revocations.Current),
	// and the CLI waits until /api/v1/status shows it applied (changes.applied_seq).
	// On SQLite this is a shortcut of Gatehouse's own, so it follows the
	// fast-path switch: with every fast path off, each check reads the
	// store, and the e2e suite's plain run checks the two answer alike.
	g.gate.MemoryFirst = c.shared || g.fastPaths() != fastpath.None
	g.cluster = c
	return nil
}

// nodeInfos is the node list as connectors get it.
func nodeInfos(nodes []store.Node) []tunnel.NodeInfo {
	out := make([]tunnel.NodeInfo, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, tunnel.NodeInfo{ID: n.ID, Addr: n.TunnelAddr, Draining: n.Draining})
	}
	return out
}

// runCluster follows the change feed and heart-beats until ctx is done;
// leave waits for that.
func (g *Gateway) runCluster(ctx context.Context) {
	c := g.cluster
	c.running.Go(func() { _ = c.follower.Run(ctx) })
	c.running.Go(func() { _ = c.members.Run(ctx) })
	c.running.Go(func() { _ = c.revocations.Run(ctx) })
	c.running.Go(func() { g.rollout.Run(ctx) }) // rollout.go
}

// drain is the first step of a shutdown: the node is marked draining in
// the store's node list (its connectors stop opening sessions to it),
// then it keeps serving for shutdown.drain_delay while /readyz says 503,
// so that the load balancer's health check moves new connections away
// before the listener closes. A listener that failed (err) skips the
// delay: there is nothing left to serve with.
func (g *Gateway) drain(err error) {
	g.cluster.members.SetDraining(true)
	d := g.snap.Load().cfg.Shutdown.DrainDelay.D()
	if err != nil || d <= 0 {
		return
	}
	g.log.Info("gateway draining: /readyz is unready; still serving until the load balancer and the connectors move away", "drain_delay", d.String())
	time.Sleep(d)
}

// leave takes this node out of the node list once it has stopped (the
// context runCluster ran with is done).
func (g *Gateway) leave() {
	g.cluster.running.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.cluster.members.Leave(ctx); err != nil {
		g.log.Warn("leaving the node list: the other nodes drop this one when its heartbeats stop", "error", err)
	}
}

// storeDegraded says why this node serves from its last known state, or
// "" when the change feed is current.
func (g *Gateway) storeDegraded() string {
	if g.cluster.follower.Healthy() {
		return ""
	}
	msg := "the change feed cannot be read: serving from the last known state (revocations made before the outage are enforced)"
	if err := g.cluster.follower.LastError(); err != nil {
		msg += ": " + err.Error()
	}
	return msg
}

// apiNode is a node of the store's node list, in the admin API.
type apiNode struct {
	ID            string    `json:"id"`
	TunnelAddr    string    `json:"tunnel_addr"`
	Version       string    `json:"version"`
	ConfigSHA256  string    `json:"config_sha256"`
	ConfigApplied time.Time `json:"config_applied_at"`
	StartedAt     time.Time `json:"started_at"`
	LastSeen      time.Time `json:"last_seen"`
	Draining      bool      `json:"draining"`
	Self          bool      `json:"self"`
	// SameConfig: it serves the config file this node serves (by hash).
	SameConfig bool `json:"same_config"`
}

// apiNodes lists the live nodes as this node last read them.
func (g *Gateway) apiNodes() []apiNode {
	self := g.cluster.members.Self()
	out := []apiNode{}
	for _, n := range g.cluster.members.Nodes() {
		out = append(out, apiNode{ID: n.ID, TunnelAddr: n.TunnelAddr, Version: n.Version, ConfigSHA256: n.ConfigHash,
			ConfigApplied: n.ConfigAt.UTC(), StartedAt: n.StartedAt.UTC(), LastSeen: n.LastSeen.UTC(), Draining: n.Draining,
			Self: n.ID == self.ID, SameConfig: n.ConfigHash == self.ConfigHash})
	}
	return out
}
