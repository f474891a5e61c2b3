package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// instance is one supervised plug-in process serving one app: the common
// part of Authenticator and Injector.
type instance struct {
	host  Host
	entry Entry
	use   Use
	kind  string
	log   *slog.Logger

	cur atomic.Pointer[state] // what calls see; nil before Open

	mu      sync.Mutex // orders Open, Close and the supervisor's swaps
	opened  bool
	closing bool
	stop    chan struct{}
	wg      sync.WaitGroup // the supervisor
}

// state is the instance as calls see it: up (p set), down (err set) or closed.
type state struct {
	p      *proc
	err    error
	closed bool
}

func newInstance(h Host, e Entry, u Use, kind string) *instance {
	h = h.withDefaults()
	return &instance{
		host: h, entry: e, use: u, kind: kind,
		log:  h.Logger.With("plugin", e.Name, "app", u.App),
		stop: make(chan struct{}),
	}
}

// String names the instance in errors.
func (in *instance) String() string {
	return fmt.Sprintf("plug-in %q (app %q)", in.entry.Name, in.use.App)
}

// open starts and configures the process, then supervises it.
func (in *instance) open(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.closing:
		return fmt.Errorf("%s: %w", in, ErrClosed)
	case in.opened:
		return fmt.Errorf("%s: already open", in)
	}
	p, err := in.start(ctx)
	if err != nil {
		return err
	}
	in.opened = true
	in.cur.Store(&state{p: p})
	in.log.Info("plug-in started", "pid", p.pid)
	in.wg.Add(1)
	go in.supervise(p)
	return nil
}

// close stops the supervisor and the process. It is safe to call at any
// time, more than once, and after a failed open.
func (in *instance) close() error {
	in.mu.Lock()
	if in.closing {
		in.mu.Unlock()
		return nil
	}
	in.closing = true
	var p *proc
	if s := in.cur.Load(); s != nil {
		p = s.p
	}
	in.cur.Store(&state{closed: true})
	close(in.stop)
	in.mu.Unlock()

	in.wg.Wait()
	if p != nil {
		p.kill()
	}
	return nil
}

// proc is the running process for a call, or why there is none.
func (in *instance) proc() (*proc, error) {
	s := in.cur.Load()
	switch {
	case s == nil:
		return nil, fmt.Errorf("%s: not open", in)
	case s.closed:
		return nil, fmt.Errorf("%s: %w", in, ErrClosed)
	case s.p == nil:
		return nil, fmt.Errorf("%s: %w: %v", in, ErrUnavailable, s.err)
	}
	return s.p, nil
}

// pid is the process id of the running process, 0 while there is none.
func (in *instance) pid() int {
	if s := in.cur.Load(); s != nil && s.p != nil {
		return s.p.pid
	}
	return 0
}

// call runs one call with a deadline. A process found unreachable is handed
// to the supervisor, which replaces it; so is one that does not answer a
// health check, made when the call is slow or times out.
func (in *instance) call(ctx context.Context, method string, req, resp any) (err error) {
	defer in.observe(method, time.Now(), &err)
	p, err := in.proc()
	if err != nil {
		return err
	}
	ctx, cancel := in.host.withDeadline(ctx)
	defer cancel()
	watch := time.AfterFunc(in.host.ProbeAfter, func() { in.probe(p) })
	err = p.rpc.invoke(ctx, method, req, resp)
	watch.Stop()
	if err != nil {
		err = in.callError(method, err)
		if errors.Is(err, context.DeadlineExceeded) {
			go in.probe(p) // ends within ProbeTimeout
		}
		if ctx.Err() == nil && !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrPanicked) && lostProcess(err, p.exited()) {
			err = fmt.Errorf("%s: %s: %w: the process went away during the call (%v)", in, method, ErrUnavailable, err)
		}
		if errors.Is(err, ErrUnavailable) {
			p.markBroken()
		}
		return err
	}
	return nil
}

// swap makes s current unless the instance is closing; it reports whether
// it did.
func (in *instance) swap(s *state) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closing {
		return false
	}
	in.cur.Store(s)
	return true
}

// supervise waits for p to exit (or a call to find it unreachable) and
// replaces it, with backoff, until close.
func (in *instance) supervise(p *proc) {
	defer in.wg.Done()
	failures := 0
	for {
		select {
		case <-p.exited():
		case <-p.broken:
		case <-in.stop:
			return
		}
		if in.host.Clock.Now().Sub(p.started) >= in.host.Backoff.Max {
			failures = 0
		}
		if !in.swap(&state{err: errors.New("the process exited or stopped answering; restarting it")}) {
			return
		}
		in.log.Warn("plug-in process exited or stopped answering; restarting it", "pid", p.pid)
		p.killNow()
		if p = in.restart(&failures); p == nil {
			return
		}
	}
}

// restart starts a new process after a backoff delay, retrying until it
// succeeds (and returns it) or the instance closes (nil).
func (in *instance) restart(failures *int) *proc {
	for {
		delay := in.host.Backoff.delay(*failures)
		*failures++
		select {
		case <-in.host.Clock.After(delay):
		case <-in.stop:
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), in.host.StartTimeout)
		p, err := in.start(ctx)
		cancel()
		if err != nil {
			in.log.Error("restarting plug-in failed", "error", err, "attempt", *failures)
			if !in.swap(&state{err: err}) {
				return nil
			}
			continue
		}
		if !in.swap(&state{p: p}) {
			p.kill()
			return nil
		}
		in.log.Info("plug-in restarted", "pid", p.pid, "attempt", *failures, "after", delay.Round(time.Millisecond).String())
		in.restarted()
		return p
	}
}

// lostProcess reports whether a failed call, which the caller did not
// cancel, failed because the process went away: it has exited, or the
// connection was closed under the call (which gRPC reports as cancelled,
// a race with the crash's own "unavailable").
func lostProcess(err error, exited <-chan struct{}) bool {
	select {
	case <-exited:
		return true
	default:
		return errors.Is(err, context.Canceled)
	}
}
