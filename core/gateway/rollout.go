package gateway

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/cluster"
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/core/rollout"
	"github.com/gatehouse/gatehouse/core/store"
)

// newRollout builds the connector update orchestrator (core/rollout) on
// the hub: the hub passes it the connectors' update reports, and it sends
// updates through the hub.
func (g *Gateway) newRollout() {
	g.rollout = &rollout.Orchestrator{
		Store:  g.opts.Store,
		Hub:    g.hub,
		Logger: g.log,
		Owner:  g.snap.Load().cfg.Cluster.NodeID,
		Config: func() *config.Config { return g.snap.Load().cfg },
		Now:    g.opts.Clock.Now,

		GatewayVersion: g.opts.Version,
	}
	g.hub.UpdateStatus = g.rollout.Status
}

// followRollouts looks at the rollouts as soon as a release is added or
// one is requested by hand ('gatehouse connectors update'), on whichever
// node wrote it, rather than at the next periodic check.
func (g *Gateway) followRollouts(f *cluster.Follower) {
	f.On(store.ChangeBlob, func(_ context.Context, c store.Change) {
		if _, req := rollout.IsRequestKey(c.Key); req || strings.HasPrefix(c.Key, releases.Prefix) {
			g.rollout.Kick()
		}
	})
}

// apiUpdate is a connector's latest update, in the admin API.
type apiUpdate struct {
	State   string    `json:"state"` // updating, updated, failed
	Phase   string    `json:"phase,omitempty"`
	Version string    `json:"version"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}

// addUpdates fills in each connector's latest update from its group's
// rollout state; a state that cannot be read leaves them out.
func (g *Gateway) addUpdates(ctx context.Context, conns []apiConnector) {
	states := map[string]rollout.GroupState{}
	for i, c := range conns {
		gs, ok := states[c.Group]
		if !ok {
			gs, _ = rollout.Load(ctx, g.opts.Store, c.Group)
			states[c.Group] = gs
		}
		if u, ok := gs.Connectors[c.ID]; ok {
			conns[i].Update = &apiUpdate{State: u.State, Phase: u.Phase, Version: u.Version, Error: u.Error, At: u.At}
		}
	}
}
