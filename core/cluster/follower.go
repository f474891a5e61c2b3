package cluster

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// FollowerOptions tune a Follower; zero fields take the defaults.
type FollowerOptions struct {
	// PollInterval is the time between polls while store.Listen works
	// (default 1 s): polling only covers a lost notification.
	PollInterval time.Duration
	// FastPoll is the time between polls without notifications: a store
	// that has none (SQLite) or while Listen is down (default 250 ms).
	FastPoll time.Duration
	// Cursor, when positive, is the Seq to follow after: the caller
	// loaded its state as of that change. Zero starts at the store's
	// LastChange and asks the reload subscribers to load their state.
	Cursor int64
	// Batch is the most changes read per poll (default 500).
	Batch int
	// StallAfter: a poll that follows a failed one, or comes more than
	// this long after the last successful one, first checks that the
	// feed still holds the cursor's change (default 10 s).
	StallAfter time.Duration
	Logger     *slog.Logger // default slog.Default()
}

// maxPollBackoff bounds the wait between polls while the store fails.
const maxPollBackoff = 2 * time.Second

// Follower reads the store's change feed and dispatches each change to
// the subscribers of its kind, in Seq order, from one goroutine (Run).
//
// The cursor only moves over changes that were delivered. A follower that
// fell behind the feed's cleanup (store.DeleteChangesBefore) cannot know
// what it missed, so it asks the reload subscribers to load their state
// again and goes on after the LastChange it read before asking. The rule:
// when the first change read is not cursor+1, or the poll follows a
// failure or a stall, the follower checks that the change at its cursor is
// still in the feed. Cleanup deletes the oldest changes first, so if it is
// there nothing after it was deleted and a gap in Seq is a number that was
// never committed (a rolled-back PostgreSQL transaction); if it is gone
// (or the cursor is 0), the follower reloads. A needless reload costs a
// read; a missed one would keep a revocation unseen.
type Follower struct {
	st   store.Store
	opts FollowerOptions
	log  *slog.Logger

	mu      sync.Mutex
	subs    map[string][]func(context.Context, store.Change)
	reloads []func()

	cursor      atomic.Int64
	healthy     atomic.Bool
	lastErr     atomic.Pointer[error]
	listenSince atomic.Int64                // UnixNano when the running Listen call began; 0 when none runs
	vouched     atomic.Pointer[store.Stamp] // fresh.go
	wake        chan struct{}               // Run polls now

	// Owned by Run's goroutine.
	lastOK    time.Time
	failed    bool
	verify    bool
	backoff   time.Duration
	unsettled bool // the latest poll could not vouch for a stamp (fresh.go)
}

// NewFollower returns a follower of st's change feed. Register the
// subscribers (On, OnReload) before Run.
func NewFollower(st store.Store, opts FollowerOptions) *Follower {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.FastPoll <= 0 {
		opts.FastPoll = 250 * time.Millisecond
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Follower{st: st, opts: opts, log: opts.Logger, subs: map[string][]func(context.Context, store.Change){},
		wake: make(chan struct{}, 1)}
}

// On registers fn for the changes of kind (a store.Change* constant). Run
// calls it from its goroutine, in Seq order, with Run's context; the
// cursor moves past a change once every fn for it returned, so fn should
// apply the change before returning and not block for long.
func (f *Follower) On(kind string, fn func(ctx context.Context, c store.Change)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[kind] = append(f.subs[kind], fn)
}

// OnReload registers fn, called when a subscriber's state must be loaded
// again from the store: at start (unless FollowerOptions.Cursor was
// given) and after the follower fell behind the feed's cleanup. The
// changes after the reload point are delivered as well, so fn may load
// in the background (it must not block Run): merging what it loads with
// what it holds must be safe.
func (f *Follower) OnReload(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reloads = append(f.reloads, fn)
}

// Healthy reports whether the latest poll of the store succeeded. When it
// did not, the node serves from its last known state.
func (f *Follower) Healthy() bool { return f.healthy.Load() }

// LastError returns the error of the latest poll, nil after a success.
func (f *Follower) LastError() error {
	if p := f.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Cursor returns the Seq of the latest change delivered (or the start
// point).
func (f *Follower) Cursor() int64 { return f.cursor.Load() }

// Run follows the feed until ctx is done, then returns ctx's error. It
// retries a failing store for ever, logging at WARN once per outage.
func (f *Follower) Run(ctx context.Context) error {
	if err := f.start(ctx); err != nil {
		return err
	}
	wake := f.wake
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { f.listen(ctx, wake) })
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		more := f.poll(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if more {
			continue
		}
		timer.Reset(f.interval())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-timer.C:
		}
	}
}

// start sets the cursor: the given one, or the store's LastChange (tried
// until it answers), after which the reload subscribers load their state.
func (f *Follower) start(ctx context.Context) error {
	if f.opts.Cursor > 0 {
		f.cursor.Store(f.opts.Cursor)
		f.verify = true // the feed may have been cleaned up since the caller's cursor
		return nil
	}
	for {
		last, err := f.st.LastChange(ctx)
		if err == nil {
			f.reload() // before the cursor moves: see Revocations.Applied
			f.cursor.Store(last)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.fail(ctx, err)
		if err := sleep(ctx, f.nextBackoff()); err != nil {
			return err
		}
	}
}

// poll reads and delivers one batch of changes; it reports whether there
// may be more to read at once.
func (f *Follower) poll(ctx context.Context) bool {
	cursor := f.cursor.Load()
	stamp, stamped := f.stampBefore()
	list, err := f.st.Changes(ctx, cursor, f.opts.Batch)
	if err != nil {
		f.vouch(stamp, false, false)
		f.fail(ctx, err)
		return false
	}
	check := f.verify || f.failed || (!f.lastOK.IsZero() && time.Since(f.lastOK) > f.opts.StallAfter)
	if check || (len(list) > 0 && list[0].Seq != cursor+1) {
		f.vouch(stamp, false, false) // vouched again by the next poll
		behind, err := f.fellBehind(ctx, cursor)
		if err != nil {
			f.fail(ctx, err)
			return false
		}
		if behind {
			last, err := f.st.LastChange(ctx)
			if err != nil {
				f.fail(ctx, err)
				return false
			}
			f.log.Warn("cluster: fell behind the change feed's cleanup: reloading state", "cursor", cursor, "last_change", last)
			f.reload()
			f.cursor.Store(last)
			f.ok()
			return true
		}
	}
	for _, c := range list {
		f.deliver(ctx, c)
		f.cursor.Store(c.Seq)
	}
	f.ok()
	f.vouch(stamp, stamped, len(list) < f.opts.Batch)
	return len(list) == f.opts.Batch
}

// fellBehind reports whether changes after cursor may have been deleted:
// the change at cursor is no longer in the feed (see Follower).
func (f *Follower) fellBehind(ctx context.Context, cursor int64) (bool, error) {
	if cursor <= 0 {
		return true, nil
	}
	list, err := f.st.Changes(ctx, cursor-1, 1)
	if err != nil {
		return false, err
	}
	return len(list) == 0 || list[0].Seq != cursor, nil
}

// deliver calls the subscribers of c's kind.
func (f *Follower) deliver(ctx context.Context, c store.Change) {
	f.mu.Lock()
	subs := f.subs[c.Kind]
	f.mu.Unlock()
	for _, fn := range subs {
		fn(ctx, c)
	}
}

// reload calls the reload subscribers.
func (f *Follower) reload() {
	f.mu.Lock()
	fns := f.reloads
	f.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// ok records a successful poll, logging the end of an outage.
func (f *Follower) ok() {
	if f.failed {
		f.log.Info("cluster: store reachable again: following its changes", "cursor", f.cursor.Load())
	}
	f.failed, f.verify, f.backoff = false, false, 0
	f.lastOK = time.Now()
	f.lastErr.Store(nil)
	f.healthy.Store(true)
}

// fail records a failed poll, logging the start of an outage once. An
// error after Run's context ended is no outage.
func (f *Follower) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	if !f.failed {
		f.log.Warn("cluster: store unreachable: serving from last known state", "err", err)
	}
	f.failed = true
	f.lastErr.Store(&err)
	f.healthy.Store(false)
}

// interval is the wait before the next poll.
func (f *Follower) interval() time.Duration {
	if f.failed {
		return f.nextBackoff()
	}
	if f.unsettled {
		return min(settle, f.opts.FastPoll)
	}
	if since := f.listenSince.Load(); since != 0 && time.Since(time.Unix(0, since)) > f.opts.FastPoll {
		return f.opts.PollInterval
	}
	return f.opts.FastPoll
}

// nextBackoff doubles the wait after each failure, from FastPoll up to
// maxPollBackoff.
func (f *Follower) nextBackoff() time.Duration {
	f.backoff = min(max(2*f.backoff, f.opts.FastPoll), maxPollBackoff)
	return f.backoff
}

// Listen retry bounds: a Listen call that ran at least listenStable ends
// an outage (the next failure is logged again).
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 30 * time.Second
	listenStable     = 10 * time.Second
)

// listen keeps a store.Listen call running, which wakes Run on every
// notification. On its error it logs at WARN once per outage and tries
// again with backoff; Run polls at FastPoll meanwhile. It returns at once
// for a store without notifications.
func (f *Follower) listen(ctx context.Context, wake chan<- struct{}) {
	backoff, outage := time.Duration(0), false
	for {
		began := time.Now()
		f.listenSince.Store(began.UnixNano())
		err := f.st.Listen(ctx, wake)
		f.listenSince.Store(0)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrNoListen):
			f.log.Debug("cluster: the store sends no notifications: polling", "every", f.opts.FastPoll)
			return
		}
		if time.Since(began) >= listenStable {
			backoff, outage = 0, false
		}
		if !outage {
			f.log.Warn("cluster: listening for store notifications failed: polling meanwhile", "err", err, "poll", f.opts.FastPoll)
			outage = true
		}
		backoff = min(max(2*backoff, listenMinBackoff), listenMaxBackoff)
		if sleep(ctx, backoff) != nil {
			return
		}
		select { // notifications were lost while down: poll now
		case wake <- struct{}{}:
		default:
		}
	}
}

// sleep waits d or until ctx is done (then returns its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
