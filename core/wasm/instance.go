package wasm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// instance is one instantiated guest. It serves one request at a time;
// any failed call makes it dead, and a dead instance is closed, never
// reused.
type instance struct {
	f        *Filter
	mod      api.Module
	mem      api.Memory
	request  api.Function
	response api.Function
	features features // enabled by the guest outside a request
	dead     bool
	ex       exchange // the request being served; reused
	cc       *callContext
	stack    [2]uint64
	output   tail // the guest's stdout and stderr, for failure logs
}

// newInstance instantiates the filter's module and runs its start
// function, with a deadline.
func (f *Filter) newInstance(ctx context.Context) (*instance, error) {
	in := &instance{f: f}
	in.cc = newCallContext(in)
	ctx, cancel := context.WithTimeout(ctx, f.initTimeout())
	defer cancel()
	ctx = context.WithValue(ctx, instanceKey{}, in)
	mod, err := f.rt.InstantiateModule(ctx, f.compiled, f.modConfig.WithName("").WithStdout(&in.output).WithStderr(&in.output))
	if err != nil {
		return nil, fmt.Errorf("instantiating: %w", err)
	}
	in.mod = mod
	if f.start != "" {
		if _, err := mod.ExportedFunction(f.start).Call(ctx); err != nil {
			var exit *sys.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 0 || !mod.IsClosed() {
				_ = mod.Close(context.Background())
				return nil, fmt.Errorf("running %s: %w%s", f.start, err, in.output.suffix())
			}
		}
		if mod.IsClosed() {
			return nil, fmt.Errorf("the guest exited in %s: a Go filter must be built with -buildmode=c-shared%s", f.start, in.output.suffix())
		}
	}
	in.mem = mod.Memory()
	in.request = mod.ExportedFunction(exportRequest)
	in.response = mod.ExportedFunction(exportResponse)
	return in, nil
}

// call runs fn with the instance's stack and a fresh per-call deadline.
// An error makes the instance dead.
func (in *instance) call(fn api.Function, timeout time.Duration) error {
	start := time.Now()
	err := in.cc.run(fn, in.stack[:], timeout)
	in.observe(start, err)
	if err != nil {
		in.dead = true
	}
	return err
}

func (in *instance) pages() uint32 { return in.mem.Size() / wasmPageSizeBytes }

func (in *instance) close() {
	in.cc.timer.Stop()
	_ = in.mod.Close(context.Background())
}

// instanceKey finds the calling instance in a host function's context.
type instanceKey struct{}

// callContext is the context of an instance's guest calls: reused for
// every call, its Done channel is closed by a timer re-armed per call, so
// a call costs no context allocation. Once the timer fires the instance is
// dead (wazero closes it) and the callContext is dropped with it.
type callContext struct {
	in    *instance
	done  chan struct{}
	timer *time.Timer
}

func newCallContext(in *instance) *callContext {
	c := &callContext{in: in, done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Hour, func() { close(c.done) })
	c.timer.Stop()
	return c
}

// errDeadline reports a guest call that ran past its deadline.
var errDeadline = errors.New("the guest call ran past its deadline")

func (c *callContext) run(fn api.Function, stack []uint64, timeout time.Duration) error {
	c.timer.Reset(timeout)
	err := fn.CallWithStack(c, stack)
	if !c.timer.Stop() {
		// The timer fired: wazero may have closed the module, now or
		// in a moment. Either way the instance is done.
		c.in.dead = true
		var exit *sys.ExitError
		if err == nil || errors.As(err, &exit) {
			return errDeadline
		}
	}
	return err
}

// Deadline is not reported: the deadline lives in the timer.
func (c *callContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *callContext) Done() <-chan struct{}       { return c.done }
func (c *callContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *callContext) Value(key any) any {
	if key == (instanceKey{}) {
		return c.in
	}
	return nil
}

// tail keeps the last bytes a guest wrote to stdout and stderr.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 2048

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (t *tail) reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

// suffix is ": guest output: …" when the guest wrote something.
func (t *tail) suffix() string {
	if s := t.String(); s != "" {
		return "; guest output: " + s
	}
	return ""
}
