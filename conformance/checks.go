package conformance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk/wire"
)

// Names of the checks that need a running plug-in.
const (
	checkNormal      = "answers a well-formed call within its deadline"
	checkDeadline    = "a call with a 1 ms deadline returns promptly"
	checkCancel      = "a cancelled call returns promptly"
	checkGarbage     = "garbage and oversized input: no crash, no panic, no hang"
	checkConcurrency = "256 parallel calls all succeed"
	checkShutdown    = "exits after Close and leaves no process"
)

// unknownKey is the config key no plug-in knows.
const unknownKey = "conformance_unknown_key"

// prompt is how soon a call whose context has ended must return: long
// enough for a loaded machine (a test run under -race, beside others), far
// shorter than a plug-in that ignores its deadline takes.
const prompt = time.Second

func (k *kit) refusesToRunAlone(ctx context.Context) Result {
	r := Result{Check: "refuses to run without a host"}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.path)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Err = errors.New("run by hand, it did not exit within 5s; a plug-in must exit when no host started it (sdk.Serve does)")
	case err == nil:
		r.Err = errors.New("run by hand, it exited with status 0; it should say it is a plug-in and exit non-zero")
	case !errors.As(err, &exit):
		r.Err = fmt.Errorf("running it: %w", err)
	default:
		r.Detail = fmt.Sprintf("exit status %d: %s", exit.ExitCode(), firstLine(out))
	}
	return r
}

func (k *kit) otherVersionRefused(ctx context.Context) Result {
	r := Result{Check: "a host of another protocol version refuses it"}
	h := k.host
	h.ProtocolVersion = wire.ProtocolVersion + 1000
	t := k.target(h, k.opts.Config)
	defer t.Close()
	err := t.Open(ctx)
	switch {
	case err == nil:
		r.Err = fmt.Errorf("it completed the handshake with a host that speaks only protocol version %d", h.ProtocolVersion)
	case !errors.Is(err, pluginhost.ErrIncompatible):
		r.Err = fmt.Errorf("refused, but not as a version mismatch: %w", err)
	default:
		r.Detail = err.Error()
	}
	return r
}

func (k *kit) unknownKeyRefused(ctx context.Context) Result {
	r := Result{Check: "config: an unknown key is refused, naming it"}
	cfg := maps.Clone(k.opts.Config)
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg[unknownKey] = true
	t := k.target(k.host, cfg)
	defer t.Close()
	err := t.Open(ctx)
	var ce *pluginhost.ConfigError
	switch {
	case err == nil:
		r.Err = fmt.Errorf("Configure accepted the unknown key %q; decode config strictly (sdk.ConfigureRequest.Decode)", unknownKey)
	case !errors.As(err, &ce):
		r.Err = fmt.Errorf("Configure failed, but not with a config error: %w", err)
	case !strings.Contains(ce.Problem, unknownKey):
		r.Err = fmt.Errorf("the error does not name the key %q: %w", unknownKey, err)
	default:
		r.Detail = ce.Problem
	}
	return r
}

func (k *kit) emptyConfigHandled(ctx context.Context) Result {
	r := Result{Check: "config: an empty config is accepted or refused cleanly"}
	t := k.target(k.host, nil)
	defer t.Close()
	err := t.Open(ctx)
	var ce *pluginhost.ConfigError
	switch {
	case err == nil:
		r.Detail = "accepted"
	case errors.As(err, &ce):
		r.Detail = "refused: " + ce.Problem
	default:
		r.Err = err
	}
	return r
}

func (k *kit) answersInTime(ctx context.Context, t target) Result {
	r := Result{Check: checkNormal}
	ctx, cancel := context.WithTimeout(ctx, k.opts.CallTimeout)
	defer cancel()
	start := time.Now()
	if err := t.normal(ctx); err != nil {
		r.Err = k.explain(err, "a well-formed call")
		return r
	}
	r.Detail = time.Since(start).Round(time.Microsecond).String()
	return r
}

func (k *kit) shortDeadline(ctx context.Context, t target) Result {
	r := Result{Check: checkDeadline}
	for range 20 {
		c, cancel := context.WithTimeout(ctx, time.Millisecond)
		start := time.Now()
		err := t.normal(c)
		cancel()
		if took := time.Since(start); took > prompt {
			r.Err = fmt.Errorf("it returned after %v", took.Round(time.Millisecond))
			return r
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			r.Err = k.explain(err, "a call with a 1 ms deadline")
			return r
		}
	}
	// The plug-in must not be wedged by calls it was abandoned in.
	c, cancel := context.WithTimeout(ctx, k.opts.CallTimeout)
	defer cancel()
	if err := t.normal(c); err != nil {
		r.Err = k.explain(err, "a well-formed call after 20 calls with a 1 ms deadline")
	}
	return r
}

func (k *kit) cancelled(ctx context.Context, t target) Result {
	r := Result{Check: checkCancel}
	c, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	err := t.normal(c)
	switch took := time.Since(start); {
	case took > prompt:
		r.Err = fmt.Errorf("it returned after %v", took.Round(time.Millisecond))
	case !errors.Is(err, context.Canceled):
		r.Err = fmt.Errorf("got %v, want context.Canceled", err)
	}
	return r
}

func (k *kit) survivesGarbage(ctx context.Context, t target) Result {
	r := Result{Check: checkGarbage}
	pid := t.PID()
	var problems []string
	for _, g := range t.garbage() {
		c, cancel := context.WithTimeout(ctx, k.garbageTimeout(g.size))
		err := g.call(c)
		cancel()
		if msg := k.harm(err, g.size); msg != "" {
			problems = append(problems, fmt.Sprintf("%s on %s: %v", msg, g.name, err))
		}
		if errors.Is(err, pluginhost.ErrUnavailable) {
			break // it is down; later cases would only repeat that
		}
	}
	c, cancel := context.WithTimeout(ctx, k.opts.CallTimeout)
	defer cancel()
	if err := t.normal(c); err != nil {
		problems = append(problems, k.explain(err, "a well-formed call after the garbage").Error())
	} else if t.PID() != pid {
		problems = append(problems, fmt.Sprintf("the process was replaced (pid %d, now %d)", pid, t.PID()))
	}
	if len(problems) > 0 {
		r.Err = errors.New(strings.Join(problems, "\n      "))
	}
	return r
}

// harm says what is wrong with the outcome of a garbage call, "" if
// nothing: an error is a fine answer to garbage, a crash, panic, hang or
// an invalid result is not.
func (k *kit) harm(err error, size int) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, pluginhost.ErrPanicked):
		return "panicked"
	case errors.Is(err, pluginhost.ErrUnavailable):
		return "crashed"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("hung (no answer within %v)", k.garbageTimeout(size))
	case strings.Contains(err.Error(), "invalid result"), strings.Contains(err.Error(), "returned an invalid"):
		return "returned an invalid result"
	}
	return ""
}

// garbageTimeout is the deadline for a garbage call with size bytes of
// input: the call timeout, plus four seconds per MB to encode and decode it
// (JSON over gRPC, under -race, on a busy machine).
func (k *kit) garbageTimeout(size int) time.Duration {
	return k.opts.CallTimeout + 4*time.Duration(size)*time.Microsecond
}

func (k *kit) concurrent(ctx context.Context, t target) Result {
	r := Result{Check: checkConcurrency}
	pid := t.PID()
	const workers, calls = 32, 256
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan struct{}, calls)
	)
	for range calls {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				c, cancel := context.WithTimeout(ctx, k.opts.CallTimeout)
				err := t.normal(c)
				cancel()
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	switch {
	case first != nil:
		r.Err = k.explain(first, "a parallel call")
	case t.PID() != pid:
		r.Err = fmt.Errorf("the process was replaced (pid %d, now %d)", pid, t.PID())
	default:
		r.Detail = fmt.Sprintf("%d calls in %v", calls, time.Since(start).Round(time.Millisecond))
	}
	return r
}

func (k *kit) shutsDownCleanly(t target) Result {
	r := Result{Check: checkShutdown}
	pid := t.PID()
	if pid == 0 {
		r.Err = errors.New("no process to stop: it had crashed before")
		t.Close()
		return r
	}
	start := time.Now()
	t.Close()
	for time.Since(start) < 5*time.Second {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			r.Detail = fmt.Sprintf("gone %v after Close", time.Since(start).Round(time.Millisecond))
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Err = fmt.Errorf("process %d still exists 5s after Close", pid)
	return r
}

// explain turns a failed well-formed call into a reason a plug-in author
// can act on.
func (k *kit) explain(err error, what string) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s got no answer within %v: the plug-in must answer quickly and honour its context's deadline: %w", what, k.opts.CallTimeout, err)
	case errors.Is(err, pluginhost.ErrPanicked):
		return fmt.Errorf("%s panicked: %w", what, err)
	case errors.Is(err, pluginhost.ErrUnavailable):
		return fmt.Errorf("the process crashed during %s: %w", what, err)
	}
	return fmt.Errorf("%s failed: %w", what, err)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
