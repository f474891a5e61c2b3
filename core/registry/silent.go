package registry

import (
	"sync"
	"time"
)

// A connector that goes silent (a paused VM, a cut network) keeps its TCP
// connection open, so the requests waiting on it would wait until the
// backend timeout, or until yamux's keepalive gives up, although another
// connector of the group could answer them. When Sweep marks a connector
// inactive, every one of its request streams that has not received a
// response byte yet fails at once: the proxy then retries an idempotent
// request on another connector, and fails any other with a 502 rather
// than leaving it hanging. Streams already answering are left alone.

// streamSet is the request streams of one connector in use now.
type streamSet struct {
	mu sync.Mutex
	m  map[*Stream]struct{}
}

func (ss *streamSet) add(s *Stream) {
	ss.mu.Lock()
	if ss.m == nil {
		ss.m = map[*Stream]struct{}{}
	}
	ss.m[s] = struct{}{}
	ss.mu.Unlock()
}

func (ss *streamSet) remove(s *Stream) {
	ss.mu.Lock()
	delete(ss.m, s)
	ss.mu.Unlock()
}

// longAgo is a deadline that has passed: a read blocked on the stream
// returns at once.
var longAgo = time.Unix(1, 0)

// failUnanswered makes every stream that has received nothing yet fail
// its pending and future reads.
func (ss *streamSet) failUnanswered() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for s := range ss.m {
		if !s.answered.Load() {
			_ = s.Stream.SetReadDeadline(longAgo)
		}
	}
}
