package yamux

// Patch 2 of Gatehouse's patch set (PATCHES.md): adaptive receive windows,
// on with Config.AdaptiveWindow.
//
// Upstream offers every stream the whole MaxStreamWindowSize at once, so
// a stream whose reader is slow or idle makes its peer send, and this end
// buffer, a full window. With the patch a stream's window starts at the
// protocol's initial 256 KiB and doubles, up to MaxStreamWindowSize, only
// when its reader drains it fast relative to the session's round-trip
// time: the auto-tuning HTTP/2 and QUIC implementations do. Only the
// receiver changes; the peer sees smaller window updates, so the patch
// needs nothing from it.

import (
	"sync/atomic"
	"time"
)

// defaultRTT stands in for the round-trip time until a ping has measured
// it. It is small on purpose: before a measurement a window grows only for
// a reader that drains it within a few milliseconds. The session sends one
// ping at its start (AdaptiveWindow), so a long link's real RTT is known
// after one round trip.
const defaultRTT = 10 * time.Millisecond

// minRTT is the least RTT the tuning uses: below it a measurement on
// loopback is mostly scheduling noise.
const minRTT = time.Millisecond

// sessionPatch is the session's state for the patches.
type sessionPatch struct {
	rtt atomic.Int64 // the last ping's round-trip time, ns; 0: none yet
	// now is the tuning's clock (tests set it); nil: time.Now.
	now func() time.Time
}

// streamPatch is a stream's state for the patches. Its fields are
// guarded by the stream's recvLock.
type streamPatch struct {
	chunks chunkBuf // PooledRecvBuffers: the received bytes

	target uint32    // AdaptiveWindow: the window offered now; 0: not yet set
	epoch  time.Time // AdaptiveWindow: when the last window update was decided
}

// RTT is the round-trip time of the session's last answered ping
// (keepalive or Ping); zero before the first answer.
func (s *Session) RTT() time.Duration { return time.Duration(s.patch.rtt.Load()) }

// recordRTT keeps a ping's round-trip time for the window tuning.
func (s *Session) recordRTT(rtt time.Duration) {
	if rtt > 0 {
		s.patch.rtt.Store(int64(rtt))
	}
}

// tuningRTT is the RTT the window tuning uses.
func (s *Session) tuningRTT() time.Duration {
	rtt := s.RTT()
	if rtt == 0 {
		rtt = defaultRTT
	}
	if rtt < minRTT {
		rtt = minRTT
	}
	return rtt
}

func (s *Session) clock() time.Time {
	if s.patch.now != nil {
		return s.patch.now()
	}
	return time.Now()
}

// firstPing measures the RTT at the session's start, for the window
// tuning; a failure is the keepalive's business, not this one's.
func (s *Session) firstPing() { _, _ = s.Ping() }

// windowTarget is the receive window sendWindowUpdate offers the peer:
// MaxStreamWindowSize upstream, the stream's tuned window with
// AdaptiveWindow. recvLock must be held.
func (s *Stream) windowTarget() uint32 {
	if !s.session.config.AdaptiveWindow {
		return s.session.config.MaxStreamWindowSize
	}
	if s.patch.target == 0 {
		s.patch.target = initialStreamWindow
	}
	return s.patch.target
}

// tuneWindow is called with AdaptiveWindow when sendWindowUpdate is about
// to grant delta bytes against window target: the bytes the reader
// consumed since the last update. If the reader consumed them at a pace
// of a window per two round trips or faster (for delta half a window:
// within one RTT), the window, not the reader, may be what limits the
// stream: the target doubles, up to MaxStreamWindowSize, and the grant
// grows by as much. It starts a new epoch and returns the grant. recvLock
// must be held.
func (s *Stream) tuneWindow(delta, target uint32) uint32 {
	now := s.session.clock()
	last := s.patch.epoch
	s.patch.epoch = now
	limit := s.session.config.MaxStreamWindowSize
	if last.IsZero() || delta == 0 || target >= limit {
		return delta
	}
	// elapsed < 2·RTT·delta/target: for delta = target/2, one RTT.
	budget := time.Duration(2 * float64(s.session.tuningRTT()) * float64(delta) / float64(target))
	if now.Sub(last) >= budget {
		return delta
	}
	grown := limit
	if target < limit/2 {
		grown = 2 * target
	}
	s.patch.target = grown
	return delta + (grown - target)
}
