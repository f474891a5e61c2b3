// Package registry tracks the connectors that have live tunnels to this
// gateway node, decides which are active (heartbeats within InactiveAfter,
// by an injected clock), and picks one for each request: power of two
// choices on outstanding streams among a group's active connectors.
package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// Clock tells the time; tests inject a fake one.
type Clock interface{ Now() time.Time }

// ErrNoConnector means no active connector of the group is connected.
var ErrNoConnector = errors.New("no active connector")

// Registry is safe for concurrent use.
type Registry struct {
	clock         Clock
	inactiveAfter atomic.Int64 // nanoseconds

	mu      sync.RWMutex
	byID    map[string]*connector
	byGroup map[string][]*connector
	idle    map[*yamux.Session]*idlePool
}

type connector struct {
	id, group string
	inflight  atomic.Int64
	// guarded by Registry.mu
	sessions []*yamux.Session
	lastBeat time.Time
	active   bool
	next     int // round-robin over sessions
	inUse    streamSet
}

// New returns an empty registry.
func New(clock Clock, inactiveAfter time.Duration) *Registry {
	r := &Registry{clock: clock, byID: map[string]*connector{}, byGroup: map[string][]*connector{},
		idle: map[*yamux.Session]*idlePool{}}
	r.SetInactiveAfter(inactiveAfter)
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
	}
	c.sessions = append(c.sessions, s)
	r.idle[s] = &idlePool{}
	c.lastBeat, c.active = r.clock.Now(), true
	return func() { r.detach(c, s) }
}

func (r *Registry) detach(c *connector, s *yamux.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.sessions = slices.DeleteFunc(c.sessions, func(x *yamux.Session) bool { return x == s })
	if p := r.idle[s]; p != nil {
		p.closeAll()
		delete(r.idle, s)
	}
	if len(c.sessions) == 0 && r.byID[c.id] == c {
		delete(r.byID, c.id)
		r.byGroup[c.group] = slices.DeleteFunc(r.byGroup[c.group], func(x *connector) bool { return x == c })
	}
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

// Evict closes every session of connector id (it was removed).
func (r *Registry) Evict(id string) {
	r.mu.RLock()
	var sessions []*yamux.Session
	if c := r.byID[id]; c != nil {
		sessions = slices.Clone(c.sessions)
	}
	r.mu.RUnlock()
	for _, s := range sessions {
		_ = s.Close() // detach runs from the session's owner
	}
}

// Status describes one attached connector.
type Status struct {
	ID, Group string
	Active    bool
	Sessions  int
	InFlight  int64
}

// List returns the attached connectors, ordered by group then id.
func (r *Registry) List() []Status {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Status, 0, len(r.byID))
	for _, c := range r.byID {
		out = append(out, Status{c.id, c.group, c.active, len(c.sessions), c.inflight.Load()})
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
// request is over.
func (r *Registry) DialGroup(ctx context.Context, group string, avoid []string, reuse bool) (net.Conn, string, func(), error) {
	for range 4 {
		c, s, pool := r.pick(group, avoid)
		if c == nil {
			return nil, "", nil, fmt.Errorf("%w in group %q", ErrNoConnector, group)
		}
		var st *Stream
		if reuse {
			if ys := pool.get(r.clock.Now()); ys != nil {
				st = &Stream{Stream: ys, pool: pool, clock: r.clock, reused: true}
			}
		}
		if st == nil {
			ys, err := s.OpenStream()
			if err != nil {
				c.inflight.Add(-1)
				avoid = append(avoid, c.id) // dying session: try the next connector
				continue
			}
			if !reuse {
				pool = nil
			}
			st = &Stream{Stream: ys, pool: pool, clock: r.clock}
		}
		c.inUse.add(st)
		return st, c.id, func() { c.inUse.remove(st); c.inflight.Add(-1) }, nil
	}
	return nil, "", nil, fmt.Errorf("%w in group %q (every session failed to open a stream)", ErrNoConnector, group)
}

// pick chooses by power of two choices on in-flight streams and
// increments the winner's count.
func (r *Registry) pick(group string, avoid []string) (*connector, *yamux.Session, *idlePool) {
	r.mu.Lock() // next and inflight change
	defer r.mu.Unlock()
	var buf [16]*connector
	cands := buf[:0]
	for _, c := range r.byGroup[group] {
		if c.active && len(c.sessions) > 0 && !slices.Contains(avoid, c.id) {
			cands = append(cands, c)
		}
	}
	var c *connector
	switch len(cands) {
	case 0:
		return nil, nil, nil
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
	c.next++
	s := c.sessions[c.next%len(c.sessions)]
	return c, s, r.idle[s]
}
