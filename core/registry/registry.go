// Package registry tracks the connectors that have live tunnels to this
// gateway node, decides which are active (heartbeats within InactiveAfter,
// by an injected clock), and picks one for each request: power of two
// choices on outstanding streams among a group's active connectors. A
// session its connector is draining (see Drain) gets no new request, and a
// request for an app with sign-on goes only to a session whose connector
// runs that app's sign-on (see DialApp).
package registry

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// Clock tells the time; tests inject a fake one.
type Clock = clock.Clock

// ErrNoConnector means no active connector of the group is connected.
var ErrNoConnector = errors.New("no active connector")

// Registry is safe for concurrent use.
type Registry struct {
	clock         Clock
	inactiveAfter atomic.Int64 // nanoseconds

	onAttach func(id, group string)        // observe.go
	onState  func(id, group, state string) // state.go

	needs atomic.Pointer[map[string]SignOnNeed] // by app; see SetSignOns

	mu       sync.RWMutex
	byID     map[string]*connector
	byGroup  map[string][]*connector
	sessions map[*yamux.Session]*session
	reported chan struct{} // closed and replaced by every Report

	signOnWait time.Duration // see DialApp
	rttSeq     uint64        // orders the RTTs measured (info.go); guarded by mu
}

type connector struct {
	id, group string
	inflight  atomic.Int64
	// guarded by Registry.mu
	sessions []*session
	lastBeat time.Time
	active   bool
	next     int // round-robin over sessions
	inUse    streamSet
}

// session is one attached tunnel of a connector.
type session struct {
	ys   *yamux.Session
	pool *idlePool
	// opening counts the picks of this session still opening their
	// stream; draining (guarded by Registry.mu) keeps new picks away.
	opening  sync.WaitGroup
	draining bool
	// What its latest ready said (guarded by Registry.mu; see Report):
	// signOn is nil from a connector that reports none.
	version  uint64
	signOn   *tunnel.SignOnReport
	accepted map[string]bool
	refused  map[string]tunnel.SignOnRefusal
	// The latest round trip measured on it (guarded by Registry.mu; see
	// SetRTT), and when, in Registry.rttSeq's order.
	rtt    time.Duration
	rttSeq uint64
}

// New returns an empty registry.
func New(clock Clock, inactiveAfter time.Duration) *Registry {
	r := &Registry{clock: clock, byID: map[string]*connector{}, byGroup: map[string][]*connector{},
		sessions: map[*yamux.Session]*session{}, reported: make(chan struct{}), signOnWait: defaultSignOnWait}
	r.SetInactiveAfter(inactiveAfter)
	r.SetSignOns(nil)
	return r
}

// SetInactiveAfter changes the heartbeat deadline (on config reload).
func (r *Registry) SetInactiveAfter(d time.Duration) { r.inactiveAfter.Store(int64(d)) }

// Attach adds a ready session of connector id. The returned func removes it.
func (r *Registry) Attach(id, group string, s *yamux.Session) (detach func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.byID[id]
	if c == nil {
		c = &connector{id: id, group: group}
		r.byID[id] = c
		r.byGroup[group] = append(r.byGroup[group], c)
		r.changed(c, StateOnline)
	}
	ts := &session{ys: s, pool: &idlePool{}}
	c.sessions = append(c.sessions, ts)
	r.sessions[s] = ts
	r.attached(id, group)
	c.lastBeat, c.active = r.clock.Now(), true
	return func() { r.detach(c, ts) }
}

func (r *Registry) detach(c *connector, s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.sessions = slices.DeleteFunc(c.sessions, func(x *session) bool { return x == s })
	s.pool.closeAll()
	delete(r.sessions, s.ys)
	if len(c.sessions) == 0 && r.byID[c.id] == c {
		r.changed(c, StateOffline)
		delete(r.byID, c.id)
		r.byGroup[c.group] = slices.DeleteFunc(r.byGroup[c.group], func(x *connector) bool { return x == c })
	}
	close(r.reported) // a request waiting for this session's ready looks again
	r.reported = make(chan struct{})
}

// Beat records a heartbeat from connector id; it reports false for a
// connector with no attached session.
func (r *Registry) Beat(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.byID[id]
	if c == nil {
		return false
	}
	if !c.active {
		r.changed(c, StateActive)
	}
	c.lastBeat, c.active = r.clock.Now(), true
	return true
}

// Sweep marks connectors whose last heartbeat is older than InactiveAfter
// inactive (they get no traffic until their next heartbeat) and returns
// their ids.
func (r *Registry) Sweep() []string {
	now := r.clock.Now()
	limit := time.Duration(r.inactiveAfter.Load())
	r.mu.Lock()
	var out []string
	var silent []*connector
	for _, c := range r.byID {
		if c.active && now.Sub(c.lastBeat) > limit {
			c.active = false
			out = append(out, c.id)
			silent = append(silent, c)
		}
	}
	r.mu.Unlock()
	for _, c := range silent {
		c.inUse.failUnanswered()
	}
	return out
}

// Drain stops new requests on session s, which its connector is draining:
// no pick chooses it from now on, its parked streams are closed (and
// streams in use are closed rather than parked when their request ends),
// and Drain returns once every pick that chose it before has opened its
// stream. From then on no new stream is opened on s. A session that is
// not attached (or is already draining) needs nothing and returns at once.
func (r *Registry) Drain(s *yamux.Session) {
	r.mu.Lock()
	ts := r.sessions[s]
	if ts == nil || ts.draining {
		r.mu.Unlock()
		return
	}
	ts.draining = true
	r.mu.Unlock()
	ts.pool.closeAll()
	ts.opening.Wait()
}

// Evict closes every session of connector id (it was removed).
func (r *Registry) Evict(id string) {
	r.mu.RLock()
	var sessions []*yamux.Session
	if c := r.byID[id]; c != nil {
		for _, s := range c.sessions {
			sessions = append(sessions, s.ys)
		}
	}
	r.mu.RUnlock()
	for _, s := range sessions {
		_ = s.Close() // detach runs from the session's owner
	}
}

// InFlight returns the request streams open to connector id now (0 for
// a connector with no attached session).
func (r *Registry) InFlight(id string) int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c := r.byID[id]; c != nil {
		return c.inflight.Load()
	}
	return 0
}

// Status describes one attached connector.
type Status struct {
	ID, Group string
	Active    bool
	Sessions  int
	Draining  int // sessions its connector is draining
	InFlight  int64
	RTT       time.Duration // the tunnel's latest round trip (0: not measured yet)
}

// List returns the attached connectors, ordered by group then id.
func (r *Registry) List() []Status {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Status, 0, len(r.byID))
	for _, c := range r.byID {
		draining := 0
		for _, s := range c.sessions {
			if s.draining {
				draining++
			}
		}
		out = append(out, Status{c.id, c.group, c.active, len(c.sessions), draining, c.inflight.Load(), c.rtt()})
	}
	slices.SortFunc(out, func(a, b Status) int {
		if a.Group != b.Group {
			if a.Group < b.Group {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}

// DialGroup opens a request stream to an active connector of group,
// skipping the connectors in avoid; with reuse, it first tries a parked
// stream of the chosen session (see Stream.Park). It returns the stream
// (a *Stream), the connector's id, and a release func to call when the
// request is over. It does not look at sign-on: requests for an app go
// through DialApp.
func (r *Registry) DialGroup(ctx context.Context, group string, avoid []string, reuse bool) (net.Conn, string, func(), error) {
	return r.DialApp(ctx, group, "", avoid, reuse)
}

// open returns a stream of s: with reuse, a parked one if there is one,
// else a new one.
func (r *Registry) open(s *session, reuse bool) (*Stream, error) {
	if reuse {
		if ys := s.pool.get(r.clock.Now()); ys != nil {
			return &Stream{Stream: ys, pool: s.pool, clock: r.clock, reused: true}, nil
		}
	}
	ys, err := s.ys.OpenStream()
	if err != nil {
		return nil, err
	}
	pool := s.pool
	if !reuse {
		pool = nil
	}
	return &Stream{Stream: ys, pool: pool, clock: r.clock}, nil
}

// pick chooses by power of two choices on in-flight streams among the
// connectors with a session that may take a request for app (not
// draining; running its sign-on, see serves), increments the winner's
// count, and counts the pick in the session's opening (the caller calls
// Done once the stream is open or failed). Without a pick, v says why, and
// reported is closed by the next Report.
func (r *Registry) pick(group, app string, need *SignOnNeed, avoid []string) (c *connector, s *session, v verdict, reported <-chan struct{}) {
	r.mu.Lock() // next and inflight change
	defer r.mu.Unlock()
	var buf [16]*connector
	cands := buf[:0]
	for _, c := range r.byGroup[group] {
		if c.active && !slices.Contains(avoid, c.id) && c.usable(app, need, &v) {
			cands = append(cands, c)
		}
	}
	switch len(cands) {
	case 0:
		return nil, nil, v, r.reported
	case 1:
		c = cands[0]
	default:
		i := rand.IntN(len(cands))
		j := rand.IntN(len(cands) - 1)
		if j >= i {
			j++
		}
		c = cands[i]
		if cands[j].inflight.Load() < c.inflight.Load() {
			c = cands[j]
		}
	}
	c.inflight.Add(1)
	for s == nil || !s.usable(c, app, need, &v) { // one is: c is a candidate
		c.next++
		s = c.sessions[c.next%len(c.sessions)]
	}
	s.opening.Add(1)
	return c, s, v, nil
}
