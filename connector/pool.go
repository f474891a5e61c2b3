package connector

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// fallbackAfter is how long no listed gateway node may have a session
// up before the connector dials its bootstrap addresses (token or
// --gateway) again; it is also how long a new list's nodes have to come
// up before sessions to a bootstrap address not in the list are dropped
// while some of them are still down.
const fallbackAfter = 30 * time.Second

// reconcileEvery is how often the pool looks again without being woken.
const reconcileEvery = time.Second

// pool keeps Options.Sessions sessions to every gateway node of the
// latest list (tunnel.MsgNodes), deduplicated by address: a node that
// joins is dialled at once, one that leaves is drained (its requests in
// flight finish, then its sessions close), and a draining node gets no
// new session while its open ones finish. Before any list, and as a
// fallback when no listed node is reachable, it dials the bootstrap
// addresses.
type pool struct {
	c      *Connector
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // the session goroutines
	wake   chan struct{}
	saveMu sync.Mutex // orders state saves

	mu        sync.Mutex
	closed    bool // no session goroutine starts any more
	sups      map[string]*supervisor
	nodes     []tunnel.NodeInfo // the latest list (at start: the saved addresses)
	bootstrap []string
	live      map[string]int // sessions up, by address
	listAt    time.Time      // when nodes last changed
	lastLive  time.Time      // when a listed node last had a session up
	saved     []string
}

// supervisor runs the sessions to one address.
type supervisor struct {
	addr     string
	stop     chan struct{} // closed: drain the sessions and stop
	noRedial atomic.Bool   // the node drains: open no new session
	running  []bool        // by session number; guarded by pool.mu
}

func (s *supervisor) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

func newPool(ctx context.Context, cancel context.CancelCauseFunc, c *Connector) *pool {
	now := c.opts.Clock.Now()
	p := &pool{c: c, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1),
		sups: map[string]*supervisor{}, live: map[string]int{},
		bootstrap: slices.Clone(c.state.Bootstrap), listAt: now, lastLive: now,
		saved: slices.Clone(c.state.Gateways)}
	if len(p.bootstrap) == 0 {
		p.bootstrap = slices.Clone(c.state.Gateways)
	}
	for _, a := range c.state.Gateways {
		p.nodes = append(p.nodes, tunnel.NodeInfo{Addr: a})
	}
	p.nodes = dedupeNodes(p.nodes)
	return p
}

// run reconciles the sessions with the list until ctx is done or the
// connector drains, then waits for every session to end.
func (p *pool) run() {
	for {
		p.reconcile()
		select {
		case <-p.ctx.Done():
		case <-p.c.draining:
		case <-p.wake:
			continue
		case <-p.c.opts.Clock.After(reconcileEvery):
			continue
		}
		break
	}
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *pool) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// wanted returns the addresses to keep sessions to: true where new
// sessions may open, false for a draining node (keep, do not redial).
func (p *pool) wanted(now time.Time) map[string]bool {
	want := make(map[string]bool, len(p.nodes)+len(p.bootstrap))
	total, up, anyUp := 0, 0, false
	for _, n := range p.nodes {
		want[n.Addr] = !n.Draining
		if p.live[n.Addr] > 0 {
			anyUp = true
		}
		if !n.Draining {
			total++
			if p.live[n.Addr] > 0 {
				up++
			}
		}
	}
	if anyUp {
		p.lastLive = now
	}
	start := len(p.nodes) == 0 || !anyUp && now.Sub(later(p.lastLive, p.listAt)) >= fallbackAfter
	keep := start || up < total && (up == 0 || now.Sub(p.listAt) < fallbackAfter)
	for _, a := range p.bootstrap {
		if _, listed := want[a]; listed {
			continue
		}
		if _, ok := p.sups[a]; start || keep && ok {
			if !ok && len(p.nodes) > 0 {
				p.c.log.Warn("no listed gateway node is reachable: dialling the bootstrap address again", "gateway", a)
			}
			want[a] = true
		}
	}
	return want
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// reconcile starts, stops and marks the supervisors to match wanted.
func (p *pool) reconcile() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.ctx.Err() != nil || p.c.isDraining() {
		return
	}
	want := p.wanted(p.c.opts.Clock.Now())
	for addr, sup := range p.sups {
		active, ok := want[addr]
		switch {
		case !ok:
			delete(p.sups, addr)
			close(sup.stop)
			p.c.log.Info("gateway node left the list: draining its sessions (their requests in flight finish first)", "gateway", addr)
		case !active:
			if !sup.noRedial.Swap(true) {
				p.c.log.Info("gateway node is draining: no new session to it; the open ones finish", "gateway", addr)
			}
			if !slices.Contains(sup.running, true) {
				delete(p.sups, addr)
			}
		default:
			sup.noRedial.Store(false)
			p.fill(sup)
		}
	}
	for addr, active := range want {
		if _, ok := p.sups[addr]; !ok && active {
			sup := &supervisor{addr: addr, stop: make(chan struct{}), running: make([]bool, p.c.opts.Sessions)}
			p.sups[addr] = sup
			p.fill(sup)
		}
	}
}

// fill starts the session goroutines of sup that are not running; the
// caller holds p.mu.
func (p *pool) fill(sup *supervisor) {
	for n, on := range sup.running {
		if on {
			continue
		}
		sup.running[n] = true
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			err := p.c.supervise(p.ctx, p, sup, n)
			p.mu.Lock()
			sup.running[n] = false
			p.mu.Unlock()
			if err != nil {
				p.cancel(err)
			}
			p.poke()
		}()
	}
}

// liveMark counts one session to addr as up in the pool, once, from its
// ready until it ends; an up after the end counts nothing.
type liveMark struct {
	p         *pool
	addr      string
	mu        sync.Mutex
	up, ended bool
}

func (m *liveMark) setUp() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.up && !m.ended {
		m.up = true
		m.p.addLive(m.addr, 1)
	}
}

func (m *liveMark) end() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.ended {
		m.ended = true
		if m.up {
			m.p.addLive(m.addr, -1)
		}
	}
}

func (p *pool) addLive(addr string, delta int) {
	p.mu.Lock()
	p.live[addr] += delta
	p.mu.Unlock()
	p.poke()
}

// learn takes a node list from the gateway: checked (a bad one is
// refused whole, the current list stays), deduplicated by address,
// saved in the state file, then applied.
func (p *pool) learn(l *tunnel.NodeList, log *slog.Logger) {
	if err := l.Check(); err != nil {
		log.Error("node list from the gateway refused; keeping the current one", "error", err)
		return
	}
	if len(l.Nodes) == 0 {
		return // nothing to dial: keep what we have
	}
	nodes := dedupeNodes(l.Nodes)
	p.mu.Lock()
	if slices.Equal(nodes, p.nodes) {
		p.mu.Unlock()
		return
	}
	p.nodes, p.listAt = nodes, p.c.opts.Clock.Now()
	p.mu.Unlock()
	log.Info("gateway nodes listed by the gateway", "nodes", nodeNames(nodes))
	p.save()
	p.poke()
}

// save writes the current list's addresses (those not draining, unless
// all are) to the state file, so a restart dials them.
func (p *pool) save() {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	p.mu.Lock()
	var addrs, all []string
	for _, n := range p.nodes {
		all = append(all, n.Addr)
		if !n.Draining {
			addrs = append(addrs, n.Addr)
		}
	}
	p.mu.Unlock()
	if len(addrs) == 0 {
		addrs = all
	}
	if slices.Equal(addrs, p.saved) {
		return
	}
	if err := p.c.state.saveGateways(addrs); err != nil {
		p.c.log.Warn("saving the gateway node list in the state directory; a restart dials the previous list", "error", err)
		return
	}
	p.saved = addrs
}

// dedupeNodes keeps the first entry of each address, in order; an
// address listed both draining and not is not draining.
func dedupeNodes(in []tunnel.NodeInfo) []tunnel.NodeInfo {
	out := make([]tunnel.NodeInfo, 0, len(in))
	at := make(map[string]int, len(in))
	for _, n := range in {
		if i, ok := at[n.Addr]; ok {
			out[i].Draining = out[i].Draining && n.Draining
			continue
		}
		at[n.Addr] = len(out)
		out = append(out, n)
	}
	return out
}

func nodeNames(nodes []tunnel.NodeInfo) []string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.Addr
		if n.ID != "" && n.ID != n.Addr {
			s[i] = n.ID + "=" + n.Addr
		}
		if n.Draining {
			s[i] += " (draining)"
		}
	}
	return s
}
