package cluster

import (
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// settle is how old the store's latest write must be when a poll begins
// for the poll to vouch for it: file times move in clock ticks of a few
// milliseconds, so a commit in the tick of the stat could keep the time
// it had.
const settle = 20 * time.Millisecond

// Freshness (store.Stamper stores: SQLite, which other processes write
// and which sends no notifications). Before each poll the follower takes
// the store's stamp; once the poll delivered everything up to the end of
// the feed, that stamp is "vouched": nothing was committed since it
// without changing it. Current compares the stamp now with the vouched
// one, so a revocation written by another process is seen by the next
// request, not at the next poll: a changed stamp sends that request to
// the store and wakes the follower.

// stampBefore takes the stamp a poll vouches for, if it can: ok is false
// for a store without stamps, when the stat fails, or when the store was
// written too recently to tell a later commit from it.
func (f *Follower) stampBefore() (s store.Stamp, ok bool) {
	st, is := f.st.(store.Stamper)
	if !is {
		return s, false
	}
	now := time.Now()
	s, err := st.Stamp()
	if err != nil || !s.Latest().Before(now.Add(-settle)) {
		return s, false
	}
	return s, true
}

// vouch records the outcome of a poll that began at stamp s (ok from
// stampBefore) and reached the end of the feed (done).
func (f *Follower) vouch(s store.Stamp, ok, done bool) {
	if _, is := f.st.(store.Stamper); !is {
		return // nothing to vouch for: poll at the usual interval
	}
	if ok && done {
		f.vouched.Store(&s)
		f.unsettled = false
		return
	}
	f.vouched.Store(nil)
	f.unsettled = true // poll again soon: see interval
}

// Current reports whether everything committed to the store was
// delivered: always for a store without stamps (PostgreSQL notifies);
// for a Stamper, when its stamp is still the one the latest poll vouched
// for. When not, it wakes Run to poll now.
func (f *Follower) Current() bool {
	st, is := f.st.(store.Stamper)
	if !is {
		return true
	}
	v := f.vouched.Load()
	if v != nil {
		if now, err := st.Stamp(); err == nil && now == *v {
			return true
		}
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return false
}
