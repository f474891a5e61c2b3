package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
)

// Filter is one loaded module with its config and its pool of instances.
// It is safe for concurrent use; make one with [Runtime.Load].
type Filter struct {
	spec      Spec
	logger    *slog.Logger
	rt        wazero.Runtime
	compiled  wazero.CompiledModule
	modConfig wazero.ModuleConfig
	start     string // the start function, "" for none
	pool      *pool

	failures atomic.Int32 // consecutive
	stopped  atomic.Bool  // MaxFailures reached

	mu      sync.Mutex
	active  int    // requests inside the filter
	entries uint64 // requests admitted so far
	closing bool   // Close was called
	closed  bool   // everything is released
}

func newFilter(s Spec, logger *slog.Logger) *Filter {
	logger = logger.With("filter", s.Name)
	if s.App != "" {
		logger = logger.With("app", s.App)
	}
	f := &Filter{spec: s, logger: logger}
	f.pool = newPool(f, s.PoolSize)
	return f
}

// Name is the filter's name from its Spec.
func (f *Filter) Name() string { return f.spec.Name }

// Stopped reports whether the filter stopped after MaxFailures consecutive
// failures; it answers 503 until it is loaded again.
func (f *Filter) Stopped() bool { return f.stopped.Load() }

// enter admits a request unless the filter is closed.
func (f *Filter) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.active++
	f.entries++
	return true
}

func (f *Filter) exit() {
	f.mu.Lock()
	f.active--
	f.mu.Unlock()
}

// drainQuiet is how long no request may enter before Close releases the
// filter: a request that picked this filter just before a reload swapped
// it out still gets served.
const drainQuiet = 10 * time.Millisecond

// Close drains the filter and releases it. Requests keep being served
// until none is inside and none entered for a short quiet period; then the
// instances and the module are closed and later requests get 503. Swap
// the filter out first (reload: load the new one, swap, Close the old).
// When ctx ends first, the remaining calls are stopped (their clients get
// 500). Close is safe to call more than once.
func (f *Filter) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closing = true
	f.mu.Unlock()
	var err error
	t := time.NewTicker(drainQuiet)
	defer t.Stop()
	seen := ^uint64(0)
	for {
		f.mu.Lock()
		if f.active == 0 && f.entries == seen || err != nil {
			f.closed = true
			f.mu.Unlock()
			break
		}
		seen = f.entries
		f.mu.Unlock()
		select {
		case <-t.C:
		case <-ctx.Done():
			err = fmt.Errorf("wasm filter %q: closing before in-flight requests finished: %w", f.spec.Name, ctx.Err())
		}
	}
	f.pool.close()
	if cerr := f.rt.Close(context.Background()); cerr != nil {
		err = errors.Join(err, fmt.Errorf("wasm filter %q: closing the runtime: %w", f.spec.Name, cerr))
	}
	return err
}

// isClosing reports whether Close was called: instances are then not
// returned to the pool.
func (f *Filter) isClosing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closing
}

// failed counts a failure of the guest; at MaxFailures in a row the filter
// stops.
func (f *Filter) failed() {
	if int(f.failures.Add(1)) >= f.spec.MaxFailures && f.stopped.CompareAndSwap(false, true) {
		f.logger.Error("wasm filter stopped after consecutive failures; it answers 503 until it is loaded again",
			"failures", f.spec.MaxFailures)
		f.pool.drainIdle()
	}
}

func (f *Filter) succeeded() {
	if f.failures.Load() != 0 {
		f.failures.Store(0)
	}
}

// acquire returns an instance for one request, waiting up to QueueTimeout
// for one to be free.
func (f *Filter) acquire(ctx context.Context) (*instance, error) {
	if f.stopped.Load() {
		return nil, errStopped
	}
	in, err := f.pool.get(ctx, f.spec.QueueTimeout)
	if err != nil {
		if !errors.Is(err, errBusy) && !errors.Is(err, context.Canceled) {
			f.failed()
		}
		return nil, err
	}
	return in, nil
}

// release returns in to the pool, or closes it when it is dead, grew past
// RecyclePages, or must not be reused.
func (f *Filter) release(in *instance) {
	keep := !in.dead && !f.spec.FreshPerRequest && !f.stopped.Load() && !f.isClosing()
	if keep && in.pages() > f.spec.RecyclePages {
		f.logger.Debug("wasm instance recycled: its memory grew", "pages", in.pages(), "recycle_pages", f.spec.RecyclePages)
		keep = false
	}
	f.pool.put(in, keep)
}

var (
	errStopped = errors.New("the filter stopped after repeated failures")
	errBusy    = errors.New("no instance was free in time")
	errClosed  = errors.New("the filter is closed")
)

// initTimeout bounds a guest's start function, which may do more than a
// request (a Go guest starts its runtime).
func (f *Filter) initTimeout() time.Duration { return max(f.spec.Timeout, 10*time.Second) }
