package connector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// Spare one-time results. An Injector whose every result is one-time (a
// Kerberos authenticator) cannot be reused, but it may make several at
// once: asked for InjectRequest.Spares, it returns up to that many extra
// results in InjectResult.Spares, each good for exactly one later request
// of the same session and app. The connector keeps them in the reuse cache
// under the key of the call that made them (the same config, app, backend,
// session and envelope), hands each out once under the cache's lock,
// oldest first, and never after SparesFor (capped at maxSparesFor) or the
// session's expiry.
//
// How many to ask for adapts to each key: none on its first call (most
// sessions that make one request make no other soon, and a spare nobody
// uses is work and memory wasted), then 1, doubling up to sdk.MaxSpares on
// each call while the session keeps using them up; when some expire
// unused, the next call asks for half as many. One request at a time
// refills a key, and it starts when less than half of what it asks for is
// left (the session's other requests use those meanwhile; the new spares
// join them): a session with many requests in flight then seldom runs out,
// and never makes a batch per request. A request that finds none while a
// refill runs waits for it (no lock held; bounded by its context and the
// refill's deadline), then takes a spare; only when the refill failed, or
// others took them all maxRefillWaits times, does it call the plug-in for
// its own result (asking for spares if it is then the one to refill).
// See docs/rationale/signon-cache.md.

// Bounds of spares: usable for at most 2 minutes, at most 128 KiB of them
// per key (what does not fit is not kept), and no spare over maxReuseResult
// (a plug-in that makes one is not trusted with the others: all are
// dropped). A refill lands when up to half a batch is left, so a key holds
// up to 1.5 batches (47 spares): the lab's Kerberos tokens (1230 bytes, no
// PAC) take 1.3 KiB each as held, 61 KiB in all; a domain's tickets carry
// a PAC, about 2 KiB a token, 100 KiB in all, and 64 KiB would cut the
// batch, and the next ask, to about 16. The cache's own bound
// (maxReuseBytes) still holds for all keys together.
const (
	maxSparesFor  = 2 * time.Minute
	maxSpareBytes = 128 << 10
	// sparesGiveUp is how many calls that asked for spares and got none a
	// plug-in gets before it is no longer asked (until it makes one, or its
	// config changes): an older plug-in, or one with nothing one-time to
	// give, then costs no cache entries.
	sparesGiveUp = 8
	// refillWait is how long a key's refill counts as in flight, and how
	// long requests wait for it at most: past it (the call hangs), the
	// next request refills.
	refillWait = 5 * time.Second
	// maxRefillWaits is how many refills in a row a request waits for
	// when the others take every spare of the one before (more requests
	// in flight than a batch serves): waiting costs no CPU, a call of its
	// own ~0.3 ms. With 64 in flight and demand past what refills make
	// (a unit simulation), 3 left 30 % of requests to call on their own,
	// 8 left 13 %, 32 left 4 %; 8 keeps an unlucky request's wait near
	// 20 ms (refills of ~2.5 ms).
	maxRefillWaits = 8
)

// spareSet is a key's spares and what the cache learnt about asking for them.
type spareSet struct {
	spares []spare // unused, oldest first
	ask    int     // how many the key's next refill asks for
	// refill is the call refilling the key, nil when none is in flight.
	refill *refill
}

// refill is one call that refills a key's spares.
type refill struct {
	start time.Time
	done  chan struct{} // closed when the call ended, its spares stored
	// stored says spares were left when it ended (read after done).
	stored  bool
	waiters atomic.Int32 // requests waiting for it
}

// inFlight reports whether r still counts as running at now.
func (r *refill) inFlight(now time.Time) bool {
	return r != nil && now.Before(r.start.Add(refillWait))
}

// wait waits for r to end, at most until its deadline; it reports whether
// r ended with spares stored, or ctx's error.
func (r *refill) wait(ctx context.Context, now time.Time) (stored bool, err error) {
	t := time.NewTimer(r.start.Add(refillWait).Sub(now))
	defer t.Stop()
	r.waiters.Add(1)
	defer r.waiters.Add(-1)
	select {
	case <-r.done:
		return r.stored, nil
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// spare is one spare result: Set for one request, usable before until.
type spare struct {
	set   http.Header
	until time.Time
}

func (s *spareSet) len() int {
	if s == nil {
		return 0
	}
	return len(s.spares)
}

// spareStats is what a signOn knows of its plug-in's spares.
type spareStats struct {
	seen   atomic.Bool  // it has made a spare
	missed atomic.Int64 // calls that asked for spares and got none
}

// gaveUp reports whether the plug-in is no longer asked for spares.
func (st *spareStats) gaveUp() bool {
	return !st.seen.Load() && st.missed.Load() >= sparesGiveUp
}

// takeSpare hands out e's oldest spare that is still good at now, once: it
// leaves the cache as it is returned. When this request is to refill, ask
// is how many spares its call asks for and r its refill, which it must
// end (endRefill); without a spare while another refills, r is that
// refill. The caller holds c.mu.
func (c *reuseCache) takeSpare(e *reuseEntry, now time.Time) (res sdk.InjectResult, ok bool, ask int, r *refill) {
	st := e.spares
	expired := 0
	for len(st.spares) > 0 && !now.Before(st.spares[0].until) {
		c.popSpare(e)
		expired++
	}
	if expired > 0 {
		st.ask = max(1, st.ask/2) // the session comes back slower than a batch lasts
	}
	if !st.refill.inFlight(now) && st.ask > 0 && 2*len(st.spares) < st.ask {
		st.refill = &refill{start: now, done: make(chan struct{})}
		return sdk.InjectResult{}, false, st.ask, st.refill
	}
	if len(st.spares) == 0 {
		if st.refill.inFlight(now) {
			return sdk.InjectResult{}, false, 0, st.refill // to wait for
		}
		return sdk.InjectResult{}, false, 0, nil
	}
	res = e.res // Remove, ForgetOn, RejectStatus of the call that made it
	res.Set = c.popSpare(e)
	return res, true, 0, nil
}

// take is lookup for a request of k, which, finding no spare while a
// refill runs, waits for it and looks again: up to maxRefillWaits refills,
// as long as each ended with spares. With ask > 0, r is the request's own
// refill, to end with endRefill. err is ctx's, when it ended the wait.
func (c *reuseCache) take(ctx context.Context, k reuseKey) (res sdk.InjectResult, ok bool, ask int, r *refill, err error) {
	for waits := 0; ; waits++ {
		now := time.Now()
		res, ok, ask, r = c.lookup(k, now)
		if ok || ask > 0 || r == nil || waits == maxRefillWaits {
			if ask == 0 {
				r = nil
			}
			return res, ok, ask, r, nil
		}
		stored, err := r.wait(ctx, now)
		if err != nil {
			return sdk.InjectResult{}, false, 0, nil, err
		}
		if !stored { // it failed: one more look, then a call of its own
			waits = maxRefillWaits - 1
		}
	}
}

// endRefill ends r, k's refill: k's next request may refill, and those
// waiting for r look again. Call it after its spares were kept.
func (c *reuseCache) endRefill(k reuseKey, r *refill) {
	c.mu.Lock()
	if el, ok := c.m[k]; ok {
		if st := el.Value.(*reuseEntry).spares; st != nil {
			r.stored = len(st.spares) > 0
			if st.refill == r {
				st.refill = nil
			}
		}
	}
	c.mu.Unlock()
	close(r.done)
}

// popSpare removes e's oldest spare and returns it. The caller holds c.mu.
func (c *reuseCache) popSpare(e *reuseEntry) http.Header {
	st := e.spares
	h := st.spares[0].set
	st.spares[0] = spare{}
	st.spares = st.spares[1:]
	size := headerSize(h)
	e.size -= size
	c.bytes -= size
	c.count--
	return h
}

// keepSpares records k's call at now, which asked for asked spares and got
// res (whose ReuseFor is 0): its spares, good until SparesFor (capped) or
// the session's end, whichever comes first, after those of k still good,
// and how many the key's next refill asks for. It returns why it dropped
// spares the plug-in made, or "".
func (c *reuseCache) keepSpares(k reuseKey, res sdk.InjectResult, asked int, now, session time.Time) (dropped string) {
	if c == nil || c.maxEntries <= 0 {
		return ""
	}
	window := maxSparesFor
	if res.SparesFor > 0 {
		window = min(res.SparesFor, maxSparesFor)
	}
	until := now.Add(window)
	if session.Before(until) {
		until = session
	}
	made, next := res.Spares, 1
	switch {
	case len(made) > asked:
		dropped, made, next = fmt.Sprintf("%d spare results, %d asked for", len(made), asked), nil, 0
	case len(made) > 0 && res.SparesFor <= 0:
		dropped, made, next = "spare results without SparesFor", nil, 0
	case asked > 0 && len(made) == 0:
		next = asked // the plug-in had none to give this time
	case asked > 0:
		next = min(2*asked, sdk.MaxSpares)
	}
	for _, h := range made {
		if hs := headerSize(h); hs > maxReuseResult {
			dropped, made, next = fmt.Sprintf("a spare result of %d bytes, over the limit of %d", hs, maxReuseResult), nil, 0
			break
		}
	}
	if !now.Before(until) {
		made = nil // the session ends now: nothing to keep
	}
	base := sdk.InjectResult{Remove: res.Remove, ForgetOn: res.ForgetOn, RejectStatus: res.RejectStatus}
	c.noteForgetOn(base.ForgetOn)
	c.mu.Lock()
	defer c.mu.Unlock()
	var old []spare
	var inFlight *refill
	if el, ok := c.m[k]; ok {
		if e := el.Value.(*reuseEntry); e.spares != nil && now.Before(e.expires) {
			if asked == 0 {
				// A call that asked for none while another refilled (or
				// raced this key's first call) has nothing to add.
				return dropped
			}
			old, inFlight = e.spares.spares, e.spares.refill
		}
	}
	st, size, fit := c.fitSpares(k, base, old, made, until, now)
	st.refill = inFlight // the refill ends by endRefill
	if fit < len(made) {
		next = max(1, fit) // ask for no more than fits
	}
	st.ask = next
	expires := until.Add(window) // what it learnt outlives the spares by a window
	if session.Before(expires) {
		expires = session
	}
	c.insert(&reuseEntry{key: k, res: base, expires: expires, size: size, spares: st})
	return dropped
}

// fitSpares is a new spareSet of old's spares still good at now, then
// made's (good until until), as many as the bounds allow (maxSpareBytes,
// and the cache's own), its entry's size, and how many of made fit. The
// caller holds c.mu.
func (c *reuseCache) fitSpares(k reuseKey, base sdk.InjectResult, old []spare, made []http.Header, until, now time.Time) (st *spareSet, size, fit int) {
	st = &spareSet{spares: make([]spare, 0, len(old)+len(made))}
	size = resultSize(k, base)
	add := func(sp spare) bool {
		hs := headerSize(sp.set)
		if size+hs > min(maxSpareBytes, c.maxBytes) || len(st.spares)+2 > c.maxEntries {
			return false
		}
		size += hs
		st.spares = append(st.spares, sp)
		return true
	}
	for _, sp := range old {
		if now.Before(sp.until) && !add(sp) {
			break
		}
	}
	for _, h := range made {
		if !add(spare{set: h, until: until}) {
			break
		}
		fit++
	}
	return st, size, fit
}

// sparesAsk is how many spares the call for a request asks for, ask being
// what the cache says for its key.
func (s *signOn) sparesAsk(ask int) int {
	if s.spares.gaveUp() {
		return 0
	}
	return min(max(ask, 0), sdk.MaxSpares)
}

// keepSpares keeps the spares of res, a result that is not reused, which a
// call for key that asked for asked spares got at now.
func (s *signOn) keepSpares(log *slog.Logger, plugin string, key reuseKey, res sdk.InjectResult, asked int, now, session time.Time) {
	switch {
	case len(res.Spares) > 0:
		s.spares.seen.Store(true)
	case asked > 0:
		s.spares.missed.Add(1)
	}
	if s.spares.gaveUp() {
		return
	}
	if why := s.cache.keepSpares(key, res, asked, now, session); why != "" {
		log.Warn("sign-on plug-in's spare results ignored; the request still got its own", "app", key.app, "plugin", plugin, "why", why)
	}
}

// headerSize is about what h holds in memory.
func headerSize(h http.Header) int {
	n := 24
	for name, vs := range h {
		n += 48 + len(name)
		for _, v := range vs {
			n += 16 + len(v)
		}
	}
	return n
}
