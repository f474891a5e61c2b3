package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitFor is the generous deadline for anything a test waits on: a noisy
// two-core machine can be slow, and a healthy run never gets close.
const waitFor = 20 * time.Second

// logBuffer is an io.Writer safe for concurrent use that tests read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count returns how many times s occurs in the log.
func (b *logBuffer) Count(s string) int { return strings.Count(b.String(), s) }

// ContainsInOrder reports whether the log holds each of subs, each
// after the one before it.
func (b *logBuffer) ContainsInOrder(subs ...string) bool {
	s := b.String()
	for _, sub := range subs {
		i := strings.Index(s, sub)
		if i < 0 {
			return false
		}
		s = s[i+len(sub):]
	}
	return true
}

// lines returns the log lines that contain every one of subs.
func (b *logBuffer) lines(subs ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok && l != "" {
			out = append(out, l)
		}
	}
	return out
}

// waitLines waits until at least n log lines contain every one of subs.
func (b *logBuffer) waitLines(t testing.TB, what string, n int, subs ...string) []string {
	t.Helper()
	var got []string
	eventually(t, what, func() bool {
		got = b.lines(subs...)
		return len(got) >= n
	})
	return got
}

// tail returns at most the last n bytes of the log.
func (b *logBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// proc is a child process in its own process group, killed with its
// whole group when the test ends. Its stdout and stderr are captured.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout logBuffer
	log    logBuffer // stderr: where both commands log
	done   chan struct{}
}

// startProc starts bin with args; the process is SIGKILLed (with its
// process group) at the end of the test, and its log is dumped if the test
// failed.
func startProc(t testing.TB, name, bin string, args ...string) *proc {
	t.Helper()
	return startProcIn(t, "", name, bin, args...)
}

// startProcIn is startProc with dir as the working directory.
func startProcIn(t testing.TB, dir, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Env = append(os.Environ(), "GATEHOUSE_TOKEN=") // never inherit a token
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("---- %s (pid %d) log ----\n%s", p.name, p.pid(), p.log.tail(48<<10))
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// kill SIGKILLs the process group and waits for the process to be reaped.
// A process already reaped is left alone: its id may belong to another.
func (p *proc) kill() {
	if !p.exited() {
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
	}
	<-p.done
}

func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling %s with %v: %v", p.name, sig, err)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit by itself and returns its exit code.
func (p *proc) wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(waitFor):
		t.Fatalf("%s did not exit within %v; log:\n%s", p.name, waitFor, p.log.tail(8<<10))
	}
	return p.cmd.ProcessState.ExitCode()
}

// requireAlive fails the test if the process has exited.
func (p *proc) requireAlive(t testing.TB) {
	t.Helper()
	if p.exited() {
		t.Fatalf("%s exited (%v); log:\n%s", p.name, p.cmd.ProcessState, p.log.tail(16<<10))
	}
}

// runCmd runs a short command to completion and returns its stdout, its
// stderr and its exit code.
func runCmd(t testing.TB, dir, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running %s %v: %v", bin, args, err)
	}
	return out.String(), errb.String(), code
}

// eventually polls cond until it holds, failing the test after waitFor.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, waitFor, what, cond)
}

func eventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
