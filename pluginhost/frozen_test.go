package pluginhost_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

// frozenHost is a test host whose health checks start soon; its call
// deadline is long, so a test sees whether the check, not the deadline,
// ended a call.
func frozenHost(t *testing.T) (pluginhost.Host, *syncBuffer) {
	h, buf := testHost(t)
	h.CallTimeout = 20 * time.Second
	h.ProbeAfter, h.ProbeTimeout = 100*time.Millisecond, 500*time.Millisecond
	return h, buf
}

// supervised is what Authenticator and Injector share.
type supervised interface {
	Open(context.Context) error
	Close() error
	PID() int
}

// A plug-in process that is stopped (SIGSTOP: alive, its socket open, but
// answering nothing) is found out by a health check once calls have waited
// ProbeAfter: it is killed and restarted once, however many calls waited on
// it; those calls fail with ErrUnavailable (the gateway answers 503) well
// before their deadline, and the new process serves. Authenticators run in
// the gateway, Injectors (sign-on) in the connector, on the same host code.
func TestFrozenPluginIsRestartedOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(t *testing.T, h pluginhost.Host) (supervised, func(context.Context) error)
	}{
		{"authenticator", func(t *testing.T, h pluginhost.Host) (supervised, func(context.Context) error) {
			a := h.Authenticator(binaryEntry(t, "echo"), pluginhost.Use{App: "hr"})
			return a, func(ctx context.Context) error {
				_, err := a.Authenticate(ctx, testReq(""))
				return err
			}
		}},
		{"injector", func(t *testing.T, h pluginhost.Host) (supervised, func(context.Context) error) {
			i := h.Injector(pluginhost.Entry{Name: "inject", Builtin: true}, pluginhost.Use{App: "hr"})
			return i, func(ctx context.Context) error {
				_, err := i.Inject(ctx, sdk.InjectRequest{Identity: sdk.Identity{Subject: "alice"}, Method: "GET", URL: "https://hr.test/"})
				return err
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, buf := frozenHost(t)
			p, call := tc.new(t, h)
			t.Cleanup(func() { p.Close() })
			if err := p.Open(ctxTimeout(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			pid := freeze(t, p.PID())
			const calls = 8
			errs := make(chan error, calls)
			for range calls {
				go func() { errs <- call(context.Background()) }()
			}
			for range calls {
				if err := <-errs; !errors.Is(err, pluginhost.ErrUnavailable) {
					t.Errorf("a call to the frozen plug-in: %v, want ErrUnavailable (found by the health check, not the %v deadline)", err, h.CallTimeout)
				}
			}
			waitServing(t, p, call, pid)
			waitGone(t, pid)
			log := buf.String()
			if n := strings.Count(log, `"msg":"plug-in process did not answer a health check; restarting it"`); n != 1 {
				t.Errorf("%d failed health checks logged, want 1\n%s", n, log)
			}
			if n := strings.Count(log, `"msg":"plug-in restarted"`); n != 1 {
				t.Errorf("the plug-in was restarted %d times, want once\n%s", n, log)
			}
		})
	}
}

// freeze stops process pid (SIGSTOP) and, when the test ends, lets it go
// on if it still exists (it does if it was never replaced).
func freeze(t *testing.T, pid int) int {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !gone(pid) {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	})
	// The signal is only queued: the process stops when one of its
	// threads takes it, and may answer calls until then.
	for deadline := time.Now().Add(5 * time.Second); !stopped(t, pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d has not stopped 5 s after SIGSTOP", pid)
		}
	}
	return pid
}

// stopped reports whether every thread of process pid is stopped (state
// T in /proc).
func stopped(t *testing.T, pid int) bool {
	t.Helper()
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		t.Fatalf("listing the threads of process %d: %v", pid, err)
	}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			return false // a thread that exited meanwhile: look again
		}
		// "pid (comm) S ...": the state follows the last ')'.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		if fields := strings.Fields(rest); len(fields) == 0 || fields[0] != "T" {
			return false
		}
	}
	return true
}

// waitServing waits until calls succeed on a process other than oldPID,
// and then three calls in a row succeed on that process.
func waitServing(t *testing.T, p supervised, call func(context.Context) error, oldPID int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for call(ctxTimeout(t, 5*time.Second)) != nil || p.PID() == oldPID {
		if time.Now().After(deadline) {
			t.Fatalf("the plug-in did not come back on a new process (pid %d, was %d)", p.PID(), oldPID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid := p.PID()
	for range 3 {
		if err := call(ctxTimeout(t, 5*time.Second)); err != nil || p.PID() != pid {
			t.Fatalf("after the restart: %v, pid %d (was %d)", err, p.PID(), pid)
		}
	}
}

// A plug-in that is slow but alive answers the health check, made when a
// call has waited ProbeAfter and again when it times out: it is not
// restarted, and serves the next call.
func TestSlowPluginIsNotRestarted(t *testing.T) {
	h, buf := frozenHost(t)
	a := h.Authenticator(pluginhost.Entry{Name: "echo", Builtin: true}, pluginhost.Use{App: "hr"})
	defer a.Close()
	if err := a.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	pid := a.PID()
	// "sleep" answers when the call's deadline passes.
	if _, err := a.Authenticate(ctxTimeout(t, time.Second), testReq("sleep")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a slow call: %v, want DeadlineExceeded", err)
	}
	const answered = `"msg":"plug-in is slow but answered a health check"`
	for deadline := time.Now().Add(10 * time.Second); strings.Count(buf.String(), answered) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) || strings.Contains(buf.String(), "did not answer a health check") {
			t.Fatalf("want two answered health checks (one while the call waited, one after it timed out)\n%s", buf)
		}
	}
	if _, err := a.Authenticate(ctxTimeout(t, 5*time.Second), testReq("")); err != nil || a.PID() != pid {
		t.Fatalf("after a slow call: err %v, pid %d (was %d); want the same process serving", err, a.PID(), pid)
	}
	if strings.Contains(buf.String(), "did not answer a health check") {
		t.Errorf("a slow plug-in failed a health check\n%s", buf)
	}
}

// Close stops a frozen plug-in too: go-plugin's graceful stop waits for an
// answer that a stopped process never gives, so it is killed after a grace
// period.
func TestCloseStopsAFrozenPlugin(t *testing.T) {
	h, _ := frozenHost(t)
	a := h.Injector(pluginhost.Entry{Name: "inject", Builtin: true}, pluginhost.Use{App: "hr"})
	if err := a.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	pid := freeze(t, a.PID())
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatal("Close of a frozen plug-in did not return within 20 s")
	}
	waitGone(t, pid)
}
