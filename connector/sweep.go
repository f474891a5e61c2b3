package connector

import (
	"context"
	"net"
	"sync"
	"time"
)

// A stream's two per-request time limits — how long the gateway may take
// to send a request head, and when a slow backend call starts the
// abandonment watcher — are checked by its session's sweeper every
// sweepEvery instead of by timers of their own. With a read deadline set,
// yamux makes a timer for every blocked Read (two per request, as its
// Read wakes once spuriously), and the slow-backend watch took one more.
const sweepEvery = 250 * time.Millisecond

// streamClock is one stream's limits, as the sweeper sees them.
type streamClock struct {
	stream net.Conn

	mu      sync.Mutex
	headBy  time.Time // a request head must arrive by then; zero: not waiting
	expired bool      // the sweeper ended a wait with a past read deadline
	slowAt  time.Time // when the backend call turns slow; zero: none running
	slow    func()    // called once the backend call is slow
	// deadline is touched only by the stream's own goroutine: a read
	// deadline (set by the watcher's finish) may still be in place.
	deadline bool
}

// waitHead starts the wait for a request head, which may take until by.
func (c *streamClock) waitHead(by time.Time) {
	if c.deadline {
		_ = c.stream.SetReadDeadline(time.Time{})
		c.deadline = false
	}
	c.mu.Lock()
	c.headBy = by
	c.mu.Unlock()
}

// gotHead ends the wait; a head that made it just as the sweeper expired
// the wait is still served.
func (c *streamClock) gotHead() {
	c.mu.Lock()
	c.headBy = time.Time{}
	expired := c.expired
	c.expired = false
	c.mu.Unlock()
	if expired {
		_ = c.stream.SetReadDeadline(time.Time{})
	}
}

// backendCall says a backend call started now: slow runs if it is still
// running after slowBackend.
func (c *streamClock) backendCall(slow func()) {
	at := time.Now().Add(slowBackend)
	c.mu.Lock()
	c.slowAt, c.slow = at, slow
	c.mu.Unlock()
}

func (c *streamClock) backendDone() {
	c.mu.Lock()
	c.slowAt, c.slow = time.Time{}, nil
	c.mu.Unlock()
}

// check acts on the limits that passed by now.
func (c *streamClock) check(now time.Time) {
	c.mu.Lock()
	if !c.headBy.IsZero() && now.After(c.headBy) {
		c.headBy, c.expired = time.Time{}, true
		_ = c.stream.SetReadDeadline(time.Unix(1, 0)) // ends the blocked read
	}
	var slow func()
	if !c.slowAt.IsZero() && !now.Before(c.slowAt) {
		slow = c.slow
		c.slowAt, c.slow = time.Time{}, nil
	}
	c.mu.Unlock()
	if slow != nil {
		slow()
	}
}

// sweeper checks the clocks of a session's streams.
type sweeper struct {
	mu     sync.Mutex
	clocks map[*streamClock]struct{}
}

func (s *sweeper) add(stream net.Conn) *streamClock {
	c := &streamClock{stream: stream}
	s.mu.Lock()
	if s.clocks == nil {
		s.clocks = map[*streamClock]struct{}{}
	}
	s.clocks[c] = struct{}{}
	s.mu.Unlock()
	return c
}

func (s *sweeper) remove(c *streamClock) {
	s.mu.Lock()
	delete(s.clocks, c)
	s.mu.Unlock()
}

// run sweeps until ctx is done.
func (s *sweeper) run(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	var due []*streamClock
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			due = due[:0]
			for c := range s.clocks {
				due = append(due, c)
			}
			s.mu.Unlock()
			for _, c := range due {
				c.check(now)
			}
			clear(due)
		}
	}
}
