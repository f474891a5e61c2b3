package pluginhost_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

func testReq(mode string) sdk.AuthRequest {
	return sdk.AuthRequest{Method: "GET", URL: "https://hr.test/?user=alice", Header: http.Header{"X-Test": {mode}}}
}

// A crashed plug-in fails calls fast with ErrUnavailable while it is down,
// is restarted after a backoff that doubles on repeated crashes, and then
// serves again.
func TestCrashedPluginIsRestartedWithBackoff(t *testing.T) {
	h, _ := testHost(t)
	clock := newFakeClock()
	h.Clock = clock
	h.Backoff = pluginhost.Backoff{Initial: 100 * time.Millisecond, Max: time.Minute}
	a := h.Authenticator(binaryEntry(t, "echo"), pluginhost.Use{App: "hr"})
	defer a.Close()
	if err := a.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}

	for i, wantDelay := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		pid := a.PID()
		if _, err := a.Authenticate(ctxTimeout(t, 5*time.Second), testReq("crash")); !errors.Is(err, pluginhost.ErrUnavailable) {
			t.Fatalf("crash %d: got %v, want ErrUnavailable", i, err)
		}
		w := clock.next(t)
		if w.d != wantDelay {
			t.Errorf("crash %d: backoff %v, want %v", i, w.d, wantDelay)
		}
		start := time.Now()
		_, err := a.Authenticate(ctxTimeout(t, 5*time.Second), testReq(""))
		if !errors.Is(err, pluginhost.ErrUnavailable) || !strings.Contains(err.Error(), `plug-in "echo" (app "hr")`) {
			t.Fatalf("while down: got %v, want ErrUnavailable naming plug-in and app", err)
		}
		if took := time.Since(start); took > 100*time.Millisecond {
			t.Errorf("a call while down took %v; it should fail at once", took)
		}
		w.fire <- clock.now
		waitUp(t, a, pid)
	}
}

func waitUp(t *testing.T, a *pluginhost.Authenticator, oldPID int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := a.Authenticate(ctxTimeout(t, 5*time.Second), testReq(""))
		if err == nil {
			if res.Outcome != sdk.OutcomeRedirect {
				t.Fatalf("after restart: %+v", res)
			}
			if pid := a.PID(); pid == oldPID || pid == 0 {
				t.Fatalf("after restart PID is %d, old PID was %d", pid, oldPID)
			}
			return
		}
		if !errors.Is(err, pluginhost.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("plug-in did not come back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A panic is an error for that call only: the process stays up.
func TestPanicFailsOneCall(t *testing.T) {
	h, _ := testHost(t)
	a := h.Authenticator(pluginhost.Entry{Name: "echo", Builtin: true}, pluginhost.Use{App: "hr"})
	defer a.Close()
	if err := a.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	pid := a.PID()
	_, err := a.Authenticate(ctxTimeout(t, 5*time.Second), testReq("panic"))
	if !errors.Is(err, pluginhost.ErrPanicked) || !strings.Contains(err.Error(), "authenticate panic") {
		t.Fatalf("got %v, want ErrPanicked with the panic value", err)
	}
	if _, err := a.Authenticate(ctxTimeout(t, 5*time.Second), testReq("")); err != nil || a.PID() != pid {
		t.Fatalf("after a panic: err %v, pid %d (was %d)", err, a.PID(), pid)
	}
}

// Every call has a deadline: the caller's, or the host's CallTimeout.
func TestCallsHaveDeadlines(t *testing.T) {
	h, _ := testHost(t)
	h.CallTimeout = 200 * time.Millisecond
	a := h.Authenticator(pluginhost.Entry{Name: "echo", Builtin: true}, pluginhost.Use{App: "hr"})
	defer a.Close()
	if err := a.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ctx  func() context.Context
	}{
		{"caller deadline", func() context.Context { return ctxTimeout(t, 20*time.Millisecond) }},
		{"host CallTimeout", context.Background},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := a.Authenticate(tc.ctx(), testReq("sleep"))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want DeadlineExceeded", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

func TestPluginLogsAreReemittedTagged(t *testing.T) {
	h, buf := testHost(t)
	a := h.Authenticator(pluginhost.Entry{Name: "echo", Builtin: true}, pluginhost.Use{App: "hr"})
	defer a.Close()
	if err := a.Open(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctxTimeout(t, 5*time.Second), testReq("log")); err != nil {
		t.Fatal(err)
	}
	// Both kinds of line arrive asynchronously: structured ones on the
	// process's stderr, plain ones over go-plugin's stdio stream.
	want := []string{
		`"level":"INFO","msg":"hello from plugin","plugin":"echo","app":"hr"`,
		`"n":7`,
		`"msg":"plain stderr line","plugin":"echo","app":"hr","stream":"stderr"`,
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return strings.Contains(buf.String(), w) })
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("host log lacks %q\nlog:\n%s", missing, buf)
		}
	}
}
