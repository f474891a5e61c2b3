package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// MembershipOptions tune a Membership; zero fields take the defaults.
type MembershipOptions struct {
	// Interval is the time between heartbeats (default 5 s). A node not
	// seen for 3 intervals is dropped from the list and from the store.
	Interval time.Duration
	Logger   *slog.Logger // default slog.Default()
}

// Membership keeps this node registered in the store (a heartbeat every
// Interval), drops the nodes that stopped heart-beating, and keeps the
// list of live nodes, telling subscribers when it changes. It is safe for
// concurrent use.
type Membership struct {
	st   store.Store
	opts MembershipOptions
	log  *slog.Logger

	beat sync.Mutex // serialises heartbeats with Leave
	left bool       // under beat: Leave ran, heartbeats stop

	mu    sync.Mutex
	self  store.Node
	nodes []store.Node
	subs  []func([]store.Node)

	notify  sync.Mutex    // subscribers see the lists in order
	kick    chan struct{} // heartbeat now (SetDraining, SetConfig)
	refresh chan struct{} // list the nodes now (a ChangeNodes)
	failing bool          // owned by Run: the last heartbeat failed
}

// NewMembership returns the membership of node self (ID and TunnelAddr
// set; StartedAt defaults to now). Call Run to start heart-beating.
func NewMembership(st store.Store, self store.Node, opts MembershipOptions) *Membership {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if self.StartedAt.IsZero() {
		self.StartedAt = time.Now()
	}
	return &Membership{st: st, opts: opts, log: opts.Logger, self: self,
		kick: make(chan struct{}, 1), refresh: make(chan struct{}, 1)}
}

// Follow makes m list the nodes again on every store.ChangeNodes that f
// delivers and after f's reloads, so a node joining, leaving or changing
// is seen within f's poll interval rather than m's heartbeat interval.
func (m *Membership) Follow(f *Follower) {
	f.On(store.ChangeNodes, func(context.Context, store.Change) { signal(m.refresh) })
	f.OnReload(func() { signal(m.refresh) })
}

// Run heart-beats until ctx is done, then returns ctx's error. A failing
// store is logged at WARN once per outage and tried again each interval.
func (m *Membership) Run(ctx context.Context) error {
	ticker := time.NewTicker(m.opts.Interval)
	defer ticker.Stop()
	for {
		err := m.Heartbeat(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.logOutage(err)
		if err := m.wait(ctx, ticker.C); err != nil {
			return err
		}
	}
}

// wait returns when the next heartbeat is due (nil) or ctx is done (its
// error), listing the nodes meanwhile on each refresh signal.
func (m *Membership) wait(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			return nil
		case <-m.kick:
			return nil
		case <-m.refresh:
			if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
				m.log.Debug("cluster: listing nodes", "err", err)
			}
		}
	}
}

// logOutage logs the first failed heartbeat of an outage and its end.
func (m *Membership) logOutage(err error) {
	switch {
	case err != nil && !m.failing:
		m.log.Warn("cluster: node heartbeat failed: other nodes may drop this one", "err", err)
	case err == nil && m.failing:
		m.log.Info("cluster: node heartbeat recorded again")
	}
	m.failing = err != nil
}

// Heartbeat records this node's heartbeat now (LastSeen = now), removes
// the nodes not seen for 3 intervals, and lists the live nodes. After
// Leave it does nothing.
func (m *Membership) Heartbeat(ctx context.Context) error {
	m.beat.Lock()
	if m.left {
		m.beat.Unlock()
		return nil
	}
	now := time.Now()
	m.mu.Lock()
	m.self.LastSeen = now
	self := m.self
	m.mu.Unlock()
	err := m.st.HeartbeatNode(ctx, self)
	m.beat.Unlock()
	if err != nil {
		return fmt.Errorf("cluster: heartbeat of node %q: %w", self.ID, err)
	}
	if _, err := m.st.RemoveNodesSeenBefore(ctx, now.Add(-3*m.opts.Interval)); err != nil {
		return fmt.Errorf("cluster: removing stale nodes: %w", err)
	}
	return m.Refresh(ctx)
}

// Refresh lists the nodes from the store, keeps the live ones (seen in
// the last 3 intervals), and tells the subscribers if the list changed.
func (m *Membership) Refresh(ctx context.Context) error {
	m.notify.Lock() // one listing at a time: a slower, older one never lands last
	defer m.notify.Unlock()
	all, err := m.st.ListNodes(ctx)
	if err != nil {
		return fmt.Errorf("cluster: listing nodes: %w", err)
	}
	cutoff := time.Now().Add(-3 * m.opts.Interval)
	live := slices.DeleteFunc(all, func(n store.Node) bool { return n.LastSeen.Before(cutoff) })
	m.mu.Lock()
	changed := !slices.EqualFunc(m.nodes, live, sameNode)
	m.nodes = live
	subs := m.subs
	m.mu.Unlock()
	if changed {
		for _, fn := range subs {
			fn(slices.Clone(live))
		}
	}
	return nil
}

// sameNode reports whether a and b advertise the same thing: what
// subscribers (connectors, status) act on. LastSeen is left out.
func sameNode(a, b store.Node) bool {
	return a.ID == b.ID && a.TunnelAddr == b.TunnelAddr && a.Draining == b.Draining && a.ConfigHash == b.ConfigHash
}

// Nodes returns the live nodes ordered by ID, as of the latest listing.
func (m *Membership) Nodes() []store.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.nodes)
}

// Self returns this node as it heart-beats.
func (m *Membership) Self() store.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.self
}

// Subscribe registers fn, called with the new list (ordered by ID) each
// time a node joins or leaves or changes its ID, address, draining flag
// or config hash. Calls come one at a time, in order; fn must not block.
func (m *Membership) Subscribe(fn func([]store.Node)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs = append(m.subs, fn)
}

// SetDraining sets this node's draining flag; Run heart-beats at once so
// other nodes and connectors see it.
func (m *Membership) SetDraining(draining bool) {
	m.mu.Lock()
	m.self.Draining = draining
	m.mu.Unlock()
	signal(m.kick)
}

// SetConfig records the hash of the config this node applied and when;
// Run heart-beats at once.
func (m *Membership) SetConfig(hash string, at time.Time) {
	m.mu.Lock()
	m.self.ConfigHash, m.self.ConfigAt = hash, at
	m.mu.Unlock()
	signal(m.kick)
}

// Leave removes this node from the store for a clean shutdown; no
// heartbeat follows (call it after SetDraining and the drain).
func (m *Membership) Leave(ctx context.Context) error {
	m.beat.Lock()
	defer m.beat.Unlock()
	m.left = true
	id := m.Self().ID
	if err := m.st.RemoveNode(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("cluster: removing node %q: %w", id, err)
	}
	return nil
}

// signal sends on a channel of capacity 1 without blocking: a full
// channel already holds the signal.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
