package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const reloadFailed = "config reload failed; the running config keeps serving"

// syncBuffer is a bytes.Buffer safe for the watcher's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) count(substr string) int { return strings.Count(s.String(), substr) }

func appConfig(host string) string {
	return fmt.Sprintf(`connector_groups: [{name: default}]
apps:
  - {name: hr, host: %s, group: default, auth: passthrough, backend: {url: "http://10.0.0.5"}}
`, host)
}

// watchTest runs a Watcher on a temporary file until the test ends.
type watchTest struct {
	t       *testing.T
	path    string
	logs    *syncBuffer
	sighup  chan os.Signal
	applied chan *Config
}

func startWatcher(t *testing.T, initial string, apply func(*Config) error) *watchTest {
	t.Helper()
	wt := &watchTest{
		t:       t,
		path:    filepath.Join(t.TempDir(), "gatehouse.yaml"),
		logs:    &syncBuffer{},
		sighup:  make(chan os.Signal, 1),
		applied: make(chan *Config, 10),
	}
	wt.replace(initial)
	if apply == nil {
		apply = func(c *Config) error { wt.applied <- c; return nil }
	}
	w := NewWatcher(wt.path, slog.New(slog.NewTextHandler(wt.logs, nil)))
	w.Interval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, wt.sighup, apply)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after the context was cancelled")
		}
	})
	wt.waitLog("watching config file", 1)
	return wt
}

// replace writes content the way many editors save: a new file renamed
// over the old one.
func (wt *watchTest) replace(content string) {
	wt.t.Helper()
	tmp := wt.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		wt.t.Fatal(err)
	}
	if err := os.Rename(tmp, wt.path); err != nil {
		wt.t.Fatal(err)
	}
}

// waitLog waits until substr has been logged at least n times.
func (wt *watchTest) waitLog(substr string, n int) {
	wt.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for wt.logs.count(substr) < n {
		if time.Now().After(deadline) {
			wt.t.Fatalf("timed out waiting for log %q ×%d; log:\n%s", substr, n, wt.logs)
		}
		time.Sleep(time.Millisecond)
	}
}

func (wt *watchTest) expectApply() *Config {
	wt.t.Helper()
	select {
	case c := <-wt.applied:
		return c
	case <-time.After(5 * time.Second):
		wt.t.Fatalf("apply was not called; log:\n%s", wt.logs)
		return nil
	}
}

// expectNoApply checks that apply is not called within a few poll intervals.
func (wt *watchTest) expectNoApply(why string) {
	wt.t.Helper()
	select {
	case c := <-wt.applied:
		wt.t.Fatalf("%s: apply was called with %+v", why, c.Apps)
	case <-time.After(60 * time.Millisecond):
	}
}

func TestWatcher(t *testing.T) {
	wt := startWatcher(t, appConfig("hr.example.com"), nil)
	wt.expectNoApply("content unchanged since Run started")

	// A change saved by rename is applied, once.
	wt.replace(appConfig("hr2.example.com"))
	current := wt.expectApply()
	if got := current.Apps[0].Host; got != "hr2.example.com" {
		t.Fatalf("applied host %q, want hr2.example.com", got)
	}
	wt.waitLog(`msg="config reloaded"`, 1)
	wt.expectNoApply("same content polled again")

	// Rewriting the same bytes in place (new mtime) is not a change.
	if err := os.WriteFile(wt.path, []byte(appConfig("hr2.example.com")), 0o644); err != nil {
		t.Fatal(err)
	}
	wt.expectNoApply("same content rewritten")

	// A broken file is logged and not applied; the old config stays.
	wt.replace("apps:\n  - name: hr\n    hots: x\n")
	const hots = `unknown key \"hots\"`
	wt.waitLog(hots, 1)
	wt.expectNoApply("broken file")
	if current.Apps[0].Host != "hr2.example.com" {
		t.Fatal("the running config changed")
	}
	if n := wt.logs.count(hots); n != 1 {
		t.Errorf("broken content logged %d times, want once", n)
	}
	line := lastLine(wt.logs.String(), reloadFailed)
	for _, want := range []string{"level=ERROR", "file=" + wt.path, "error=", hots} {
		if !strings.Contains(line, want) {
			t.Errorf("reload failure log %q lacks %q", line, want)
		}
	}

	// SIGHUP always reloads, even unchanged (here: still broken) content.
	wt.sighup <- syscall.SIGHUP
	wt.waitLog(hots, 2)
	wt.expectNoApply("SIGHUP with a broken file")

	// Fixing the file applies it.
	wt.replace(appConfig("hr3.example.com"))
	if got := wt.expectApply().Apps[0].Host; got != "hr3.example.com" {
		t.Fatalf("applied host %q, want hr3.example.com", got)
	}

	// SIGHUP reloads the same content; polling does not repeat it.
	wt.sighup <- syscall.SIGHUP
	if got := wt.expectApply().Apps[0].Host; got != "hr3.example.com" {
		t.Fatalf("applied host %q after SIGHUP, want hr3.example.com", got)
	}
	wt.waitLog("trigger=sighup", 2)
	wt.expectNoApply("after SIGHUP")

	// A missing file is logged once, and the watch goes on.
	if err := os.Remove(wt.path); err != nil {
		t.Fatal(err)
	}
	wt.waitLog("no such file", 1)
	wt.expectNoApply("missing file")
	if n := wt.logs.count("no such file"); n != 1 {
		t.Errorf("missing file logged %d times, want once", n)
	}
	wt.replace(appConfig("hr4.example.com"))
	if got := wt.expectApply().Apps[0].Host; got != "hr4.example.com" {
		t.Fatalf("applied host %q, want hr4.example.com", got)
	}
}

func TestWatcherApplyError(t *testing.T) {
	wt := startWatcher(t, appConfig("hr.example.com"), func(*Config) error {
		return errors.New("listener busy")
	})
	wt.replace(appConfig("hr2.example.com"))
	wt.waitLog(reloadFailed, 1)
	line := lastLine(wt.logs.String(), reloadFailed)
	if !strings.Contains(line, `error="listener busy"`) {
		t.Errorf("apply failure log %q lacks the error", line)
	}
	if strings.Contains(wt.logs.String(), "config reloaded") {
		t.Error("a failed apply was logged as reloaded")
	}
}

func lastLine(log, substr string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], substr) {
			return lines[i]
		}
	}
	return ""
}

func TestWatcherClosedSighup(t *testing.T) {
	wt := startWatcher(t, appConfig("hr.example.com"), nil)
	close(wt.sighup)
	wt.expectNoApply("closed sighup channel")
	wt.replace(appConfig("hr2.example.com"))
	if got := wt.expectApply().Apps[0].Host; got != "hr2.example.com" {
		t.Fatalf("applied host %q, want hr2.example.com", got)
	}
}
