// Package backoff spaces the retries of the connector's reconnects and
// the plug-in host's restarts: exponential delays, optionally with
// jitter, within fixed bounds.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy says how retries are spaced. Without Jitter, delay n (0-based)
// is Min doubled n times, at most Max. With Jitter it is drawn uniformly
// from [h/2, h], where h is Min doubled n+1 times, at most Max: every
// delay stays within [Min, Max], and peers that failed together (all the
// connectors of a restarted gateway) drift apart instead of retrying in
// step.
type Policy struct {
	Min, Max time.Duration
	Jitter   bool
}

// Reconnect is the connector's policy for a lost tunnel: 250 ms to 30 s,
// with jitter (the README's Operating section states these bounds).
var Reconnect = Policy{Min: 250 * time.Millisecond, Max: 30 * time.Second, Jitter: true}

// Bounds returns the shortest and the longest delay n can be.
func (p Policy) Bounds(n int) (lo, hi time.Duration) {
	most := max(p.Max, p.Min)
	if !p.Jitter {
		d := doubled(p.Min, n, most)
		return d, d
	}
	h := doubled(p.Min, n+1, most)
	return max(h/2, p.Min), h
}

// Delay returns delay n; rnd draws the jitter, a number in [0, k) (nil:
// math/rand/v2's Int64N).
func (p Policy) Delay(n int, rnd func(k int64) int64) time.Duration {
	lo, hi := p.Bounds(n)
	if hi <= lo {
		return lo
	}
	if rnd == nil {
		rnd = rand.Int64N
	}
	return lo + time.Duration(rnd(int64(hi-lo)+1))
}

// doubled is d doubled n times, at most most.
func doubled(d time.Duration, n int, most time.Duration) time.Duration {
	for range n {
		if d >= most/2 {
			return most
		}
		d *= 2
	}
	return min(d, most)
}

// Backoff counts the failures of one retry loop. The zero value with a
// Policy is ready to use; it is not safe for concurrent use.
type Backoff struct {
	Policy Policy
	// Rand draws the jitter (see Policy.Delay); nil means math/rand/v2.
	Rand func(k int64) int64
	n    int
}

// Next returns the delay before the next retry and counts it.
func (b *Backoff) Next() time.Duration {
	d := b.Policy.Delay(b.n, b.Rand)
	if b.n < 64 { // past that, every delay is Max anyway
		b.n++
	}
	return d
}

// Reset starts over from Min, after an attempt that lasted.
func (b *Backoff) Reset() { b.n = 0 }
