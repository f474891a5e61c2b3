package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// RevocationsOptions tune a Revocations replica; zero fields take the
// defaults.
type RevocationsOptions struct {
	// PruneInterval is the time between sweeps of expired sign-outs
	// (default 1 min).
	PruneInterval time.Duration
	// RetryInterval is the time between retries of a failed load or
	// re-read (default 1 s).
	RetryInterval time.Duration
	Logger        *slog.Logger // default slog.Default()
}

// Refused is the revocation line Revocation reports for a subject whose
// sessions were revoked (a ChangeRevokeSessions was seen) while its new
// line could not be read: every session of that subject is refused until
// the line is read again. Failing closed beats letting a revoked session
// through.
var Refused = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Revocations is a node's in-memory replica of the store's session
// revocations: each subject's revocation line (store.RevokeSessions) and
// the sign-outs (store.RevokeSession). It answers Revocation from memory,
// so signed-in requests do not wait on the store and keep being checked
// against everything revoked before an outage of the store.
//
// It is loaded at start (ListRevocations, ListSessionRevocations), kept
// current by a Follower (each change is re-read from the store), loaded
// again when the follower fell behind, and written through by this node's
// own revocations. What it learns is merged, never replaced: a line only
// moves forward (as in the store) and a sign-out stays until it expired,
// so a load racing with a change can never drop a revocation.
//
// A sign-out learned from the feed has no expiry (SessionRevoked only
// says whether it exists); the change itself proves the sign-out, so it is
// kept at once with an unknown expiry, and Prune takes the expiry from
// ListSessionRevocations later, or drops it when the store no longer
// holds it unexpired.
type Revocations struct {
	st   store.Store
	opts RevocationsOptions
	log  *slog.Logger

	mu       sync.RWMutex
	lines    map[string]time.Time // subject → sessions started before are refused
	pending  map[string]uint64    // subject → gen of its failed re-read: refused until read
	signouts map[string]signout   // session ID → sign-out
	gen      uint64               // counts loads, prunes and failed re-reads, to order them with what is learned

	// What Applied reports: the follower's reloads asked for and done, and
	// the follower's cursor when the latest load began (all under mu).
	feed                    *Follower
	reloadsDue, reloadsDone uint64
	loadedSeq               int64

	loaded atomic.Bool
	load   chan struct{} // Run loads now
}

// signout is one sign-out: expires is zero while unknown; gen is when it
// was learned.
type signout struct {
	expires time.Time
	gen     uint64
}

// NewRevocations returns an empty replica of st's revocations. Call
// Follow, then Run (which loads it).
func NewRevocations(st store.Store, opts RevocationsOptions) *Revocations {
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = time.Minute
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Revocations{st: st, opts: opts, log: opts.Logger, lines: map[string]time.Time{},
		pending: map[string]uint64{}, signouts: map[string]signout{}, load: make(chan struct{}, 1)}
}

// Follow keeps r current with the changes f delivers, and has Run load r
// again after f's reloads.
func (r *Revocations) Follow(f *Follower) {
	f.On(store.ChangeRevokeSessions, r.onRevokeSessions)
	f.On(store.ChangeRevokeSession, r.onRevokeSession)
	r.mu.Lock()
	r.feed = f
	r.mu.Unlock()
	f.OnReload(func() {
		r.mu.Lock()
		r.reloadsDue++
		r.mu.Unlock()
		signal(r.load)
	})
}

// Current reports whether r holds every revocation committed to the
// store so far, so that a check may answer from memory alone: r is
// loaded, no reload is due, and the follower delivered every commit
// (Follower.Current). When not, the caller reads the store.
func (r *Revocations) Current() bool {
	r.mu.RLock()
	f, due := r.feed, r.reloadsDue != r.reloadsDone
	r.mu.RUnlock()
	return f != nil && !due && r.loaded.Load() && f.Current()
}

// Applied returns the Seq of the latest change of the feed that r
// reflects: every revocation recorded at or before it is answered from
// memory. It is the follower's cursor (which moves after a change's
// subscribers ran), held back while a reload the follower asked for is
// not loaded yet; 0 before Follow.
func (r *Revocations) Applied() int64 {
	r.mu.RLock()
	f := r.feed
	r.mu.RUnlock()
	if f == nil {
		return 0
	}
	seq := f.Cursor() // before reloadsDue: the follower counts a reload before it moves the cursor
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.reloadsDue != r.reloadsDone {
		seq = min(seq, r.loadedSeq)
	}
	return seq
}

// Revocation answers as store.Revocation does, from memory: the time
// before which subject's sessions are refused (the zero time if none;
// Refused while a line seen changing could not be read), and whether
// session sessionID ("" for none) was signed out. It is cheap and safe
// for concurrent use.
func (r *Revocations) Revocation(subject, sessionID string) (before time.Time, signedOut bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.pending[subject]; ok {
		before = Refused
	} else {
		before = r.lines[subject]
	}
	if sessionID != "" {
		_, signedOut = r.signouts[sessionID]
	}
	return before, signedOut
}

// Loaded reports whether r was loaded from the store at least once.
func (r *Revocations) Loaded() bool { return r.loaded.Load() }

// RevokeSessions revokes subject's sessions started before t in the store,
// then in memory.
func (r *Revocations) RevokeSessions(ctx context.Context, subject string, t time.Time) error {
	if err := r.st.RevokeSessions(ctx, subject, t); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setLine(subject, t)
	return nil
}

// RevokeSession signs session id out until expires in the store, then in
// memory.
func (r *Revocations) RevokeSession(ctx context.Context, id string, expires time.Time) error {
	if err := r.st.RevokeSession(ctx, id, expires); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addSignout(id, expires)
	return nil
}

// Run loads r, then keeps it loaded (again after a follower's reload),
// retries failed re-reads every RetryInterval and prunes expired
// sign-outs every PruneInterval, until ctx is done; it returns ctx's
// error.
func (r *Revocations) Run(ctx context.Context) error {
	signal(r.load)
	retry := time.NewTicker(r.opts.RetryInterval)
	defer retry.Stop()
	prune := time.NewTicker(r.opts.PruneInterval)
	defer prune.Stop()
	stale := false // a load is due and failed
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.load:
			stale = !r.tryLoad(ctx)
		case <-retry.C:
			if stale {
				stale = !r.tryLoad(ctx)
			}
			r.rereadPending(ctx)
		case <-prune.C:
			if err := r.Prune(ctx); err != nil && ctx.Err() == nil {
				r.log.Debug("cluster: pruning sign-outs", "err", err)
			}
		}
	}
}

// tryLoad loads r and reports whether it succeeded, logging a failure.
func (r *Revocations) tryLoad(ctx context.Context) bool {
	err := r.Load(ctx)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("cluster: loading revocations failed: serving the ones known so far", "err", err)
	}
	return err == nil
}

// Load reads every revocation line and unexpired sign-out from the store
// and merges them into r.
func (r *Revocations) Load(ctx context.Context) error {
	r.mu.Lock()
	r.gen++
	g, due, f := r.gen, r.reloadsDue, r.feed
	r.mu.Unlock()
	var seq int64
	if f != nil {
		seq = f.Cursor() // the store read below holds every change up to it
	}
	lines, err := r.st.ListRevocations(ctx)
	if err != nil {
		return fmt.Errorf("cluster: loading revocations: %w", err)
	}
	outs, err := r.st.ListSessionRevocations(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("cluster: loading sign-outs: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range lines {
		r.setLine(l.Subject, l.Before)
	}
	for subject, pg := range r.pending {
		if pg < g { // its line was read after the failed re-read
			delete(r.pending, subject)
		}
	}
	for _, s := range outs {
		r.addSignout(s.ID, s.Expires)
	}
	r.reloadsDone = max(r.reloadsDone, due)
	r.loadedSeq = max(r.loadedSeq, seq)
	r.loaded.Store(true)
	return nil
}

// Prune drops the sign-outs that expired, learns the expiry of those
// learned from the feed, and drops those the store no longer holds
// unexpired. If the store cannot be read it drops only the expired ones.
func (r *Revocations) Prune(ctx context.Context) error {
	now := time.Now()
	r.mu.Lock()
	r.gen++
	g, unknown := r.gen, 0
	for id, s := range r.signouts {
		switch {
		case s.expires.IsZero():
			unknown++
		case s.expires.Before(now):
			delete(r.signouts, id)
		}
	}
	r.mu.Unlock()
	if unknown == 0 {
		return nil
	}
	outs, err := r.st.ListSessionRevocations(ctx, now)
	if err != nil {
		return fmt.Errorf("cluster: reading sign-outs: %w", err)
	}
	held := make(map[string]time.Time, len(outs))
	for _, s := range outs {
		held[s.ID] = s.Expires
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, s := range r.signouts {
		if !s.expires.IsZero() {
			continue
		}
		if exp, ok := held[id]; ok {
			r.signouts[id] = signout{expires: exp, gen: s.gen}
		} else if s.gen < g { // learned before the read, which did not see it
			delete(r.signouts, id)
		}
	}
	return nil
}

// onRevokeSessions re-reads the line of the subject that changed. If the
// read fails, the subject is refused until rereadPending reads it.
func (r *Revocations) onRevokeSessions(ctx context.Context, c store.Change) {
	t, err := r.st.RevokedBefore(ctx, c.Key)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.log.Warn("cluster: reading a changed revocation line failed: refusing the subject's sessions until it is read", "subject", c.Key, "err", err)
		r.gen++ // a newer failure than any load or re-read under way
		r.pending[c.Key] = r.gen
		return
	}
	r.setLine(c.Key, t)
	delete(r.pending, c.Key)
}

// onRevokeSession records a sign-out seen in the feed (expiry unknown),
// unless the store says it is gone already (expired and deleted).
func (r *Revocations) onRevokeSession(ctx context.Context, c store.Change) {
	ok, err := r.st.SessionRevoked(ctx, c.Key)
	if err == nil && !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, known := r.signouts[c.Key]; !known {
		r.signouts[c.Key] = signout{gen: r.gen}
	}
}

// rereadPending reads again the lines whose re-read failed.
func (r *Revocations) rereadPending(ctx context.Context) {
	r.mu.RLock()
	failed := make(map[string]uint64, len(r.pending))
	for s, g := range r.pending {
		failed[s] = g
	}
	r.mu.RUnlock()
	for s, g := range failed {
		t, err := r.st.RevokedBefore(ctx, s)
		if err != nil {
			return
		}
		r.mu.Lock()
		r.setLine(s, t)
		if r.pending[s] == g { // no newer change failed to read meanwhile
			delete(r.pending, s)
		}
		r.mu.Unlock()
	}
}

// setLine moves subject's line forward to t; r.mu must be held.
func (r *Revocations) setLine(subject string, t time.Time) {
	if t.After(r.lines[subject]) {
		r.lines[subject] = t
	}
}

// addSignout records sign-out id until expires (keeping the later expiry
// of two); r.mu must be held.
func (r *Revocations) addSignout(id string, expires time.Time) {
	if s, ok := r.signouts[id]; ok && !s.expires.IsZero() && s.expires.After(expires) {
		return
	}
	r.signouts[id] = signout{expires: expires, gen: r.gen}
}
