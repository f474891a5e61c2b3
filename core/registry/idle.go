package registry

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// Idle stream reuse: a stream whose request had no body and whose response
// was read to its end goes back to its session's pool, and the next such
// request takes it instead of opening a stream (that saves the SYN, ACK
// and two FIN frames and the stream set-up: see tunnel/reuse_test.go).
// The connector waits longer for the next request (90 s) than a stream
// stays parked here, so a parked stream is normally still open.
const (
	maxIdlePerSession = 256
	idleFor           = 30 * time.Second
	// shrinkAfter: a stream parked after receiving more than this drops
	// its receive buffer. Below it, the buffer (a few KiB at most: yamux
	// grows it only while data waits unread) stays for the next response,
	// which then costs no allocation.
	shrinkAfter = 4 << 10
)

type idlePool struct {
	mu      sync.Mutex
	streams []parked
	closed  bool
}

type parked struct {
	s  *yamux.Stream
	at time.Time
}

// get returns the most recently parked stream that is not too old.
func (p *idlePool) get(now time.Time) *yamux.Stream {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.streams) > 0 {
		last := p.streams[len(p.streams)-1]
		p.streams = p.streams[:len(p.streams)-1]
		if now.Sub(last.at) < idleFor {
			return last.s
		}
		last.s.Close()
	}
	return nil
}

func (p *idlePool) put(s *yamux.Stream, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.streams) >= maxIdlePerSession {
		return false
	}
	p.streams = append(p.streams, parked{s, now})
	return true
}

func (p *idlePool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, x := range p.streams {
		x.s.Close()
	}
	p.streams = nil
}

// Stream is a request stream handed out by DialGroup.
type Stream struct {
	*yamux.Stream
	pool     *idlePool
	clock    Clock
	reused   bool
	received int64       // bytes read in this use
	answered atomic.Bool // received > 0, for other goroutines
}

// Read reads from the stream, counting what it received.
func (s *Stream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	if n > 0 && s.received == 0 {
		s.answered.Store(true)
	}
	s.received += int64(n)
	return n, err
}

var _ net.Conn = (*Stream)(nil)

// Reused reports whether the stream already carried a request: if it
// fails before any response byte, it may simply have gone stale.
func (s *Stream) Reused() bool { return s.reused }

// Park returns the stream to its session's pool for the next bodyless
// request, or closes it when the pool is full or gone. Call it only after
// a complete response to a request without a body.
func (s *Stream) Park() {
	if s.pool == nil {
		s.Stream.Close()
		return
	}
	if s.received > shrinkAfter {
		s.Stream.Shrink() // drop the receive buffer a large response grew
	}
	if !s.pool.put(s.Stream, s.clock.Now()) {
		s.Stream.Close()
	}
}
