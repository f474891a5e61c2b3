package rollout

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/tunnelserver"
	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
)

// Hub is what a rollout needs of the tunnel hub (tunnelserver.Hub).
type Hub interface {
	Live() []tunnelserver.LiveSession
	SendUpdate(connector string, u tunnel.Update) error
}

// Defaults of Orchestrator's durations.
const (
	DefaultInterval     = 30 * time.Second
	DefaultDeadline     = 2 * time.Minute
	DefaultTrialTimeout = 30 * time.Second
)

// Orchestrator runs the rollouts of this gateway node. Fields are set
// before Run.
type Orchestrator struct {
	Store  store.Store
	Hub    Hub
	Logger *slog.Logger
	// Owner names this node in the store locks.
	Owner string
	// Config returns the current config (groups' updates, release chain).
	Config func() *config.Config
	// Now tells the time (the window is checked in its location).
	Now func() time.Time
	// GatewayVersion is this gateway's version: a release whose
	// min_gateway is newer is not rolled out by itself.
	GatewayVersion string
	// Interval between checks of auto groups; Deadline bounds one
	// connector's update, from the update sent to its return on the new
	// version; TrialTimeout is the connector's bound on its trial run.
	Interval, Deadline, TrialTimeout time.Duration

	kick chan struct{}

	mu       sync.Mutex
	running  map[string]bool
	statuses map[string]chan tunnel.UpdateStatus // by connector, while its update runs
	wg       sync.WaitGroup
}

func (o *Orchestrator) init() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.kick == nil {
		o.kick = make(chan struct{}, 1)
		o.running = map[string]bool{}
		o.statuses = map[string]chan tunnel.UpdateStatus{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Deadline <= 0 {
		o.Deadline = DefaultDeadline
	}
	if o.TrialTimeout <= 0 {
		o.TrialTimeout = DefaultTrialTimeout
	}
}

// Kick makes Run look at every group now (a release was added, or a
// rollout requested).
func (o *Orchestrator) Kick() {
	o.init()
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Status takes a connector's report on its update (tunnelserver.Hub's
// UpdateStatus).
func (o *Orchestrator) Status(connector, group string, st tunnel.UpdateStatus) {
	o.init()
	o.mu.Lock()
	ch := o.statuses[connector]
	o.mu.Unlock()
	if ch == nil {
		o.Logger.Info("rollout", "group", group, "connector", connector, "phase", st.Phase,
			"version", st.Version, "error", st.Error, "note", "no rollout of this node is waiting for it")
		return
	}
	select {
	case ch <- st:
	default:
	}
}

// Run checks every group each Interval and on Kick until ctx is done,
// then waits for the rollouts it started.
func (o *Orchestrator) Run(ctx context.Context) {
	o.init()
	defer o.wg.Wait()
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		o.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.kick:
		}
	}
}

// Check starts the rollout of every group that needs one and is not
// already rolling out on this node.
func (o *Orchestrator) Check(ctx context.Context) {
	o.init()
	cfg := o.Config()
	for _, g := range cfg.ConnectorGroups {
		o.mu.Lock()
		busy := o.running[g.Name]
		if !busy {
			o.running[g.Name] = true
		}
		o.mu.Unlock()
		if busy {
			continue
		}
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			defer func() { o.mu.Lock(); delete(o.running, g.Name); o.mu.Unlock() }()
			o.group(ctx, g, cfg.Release.Chain())
		}()
	}
}

// group runs one pass of a group's rollout, holding its store lock.
func (o *Orchestrator) group(ctx context.Context, g config.ConnectorGroup, chain []release.Endorsement) {
	lock := "rollout/" + g.Name
	now := o.Now()
	ok, err := o.Store.TryLock(ctx, lock, o.Owner, now, now.Add(2*o.Deadline))
	if err != nil || !ok {
		return // another node runs it, or the store is down: the next check retries
	}
	defer func() { _ = o.Store.Unlock(context.WithoutCancel(ctx), lock, o.Owner) }()
	req, err := takeRequest(ctx, o.Store, g.Name)
	if err != nil {
		o.Logger.Warn("rollout", "group", g.Name, "connector", "", "phase", "error", "version", "", "error", "reading the rollout request: "+err.Error())
		return
	}
	u := g.Updates
	switch {
	case u.Policy == config.UpdateOff:
		if req != nil {
			o.Logger.Warn("rollout", "group", g.Name, "connector", "", "phase", "refused", "version", req.Version,
				"error", "the group's updates.policy is off: set it to manual or auto to update its connectors")
		}
		return
	case req == nil && u.Policy != config.UpdateAuto:
		return
	case req == nil:
		if w, err := config.ParseWindow(u.Window); err != nil || !w.Contains(o.Now()) {
			return
		}
	}
	p := &pass{o: o, g: g, chain: chain, lock: lock}
	if req != nil {
		p.manual, p.version = true, req.Version
		o.Logger.Info("rollout", "group", g.Name, "connector", "", "phase", "requested", "version", req.Version, "error", "")
	}
	if p.version == "" {
		p.version = u.Version
	}
	p.run(ctx)
}
