package pluginhost_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
)

// self is the test binary, which serves the test plug-ins.
func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// binaryEntry is a catalog entry for test plug-in name as a pinned binary.
func binaryEntry(t *testing.T, name string) pluginhost.Entry {
	t.Helper()
	path := filepath.Join(t.TempDir(), "testplugin-"+name)
	if err := os.Symlink(self(t), path); err != nil {
		t.Fatal(err)
	}
	return pluginhost.Entry{Name: name, Path: path, SHA256: sha256File(t, path)}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// testHost serves built-ins from the test binary and logs into a buffer.
func testHost(t *testing.T) (pluginhost.Host, *syncBuffer) {
	var buf syncBuffer
	return pluginhost.Host{
		Logger:     slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Executable: self(t),
		Backoff:    pluginhost.Backoff{Initial: 10 * time.Millisecond, Max: time.Second},
	}, &buf
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// gone reports whether process pid has exited (and been reaped).
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if gone(pid) {
			return
		}
	}
	t.Fatalf("process %d still exists 5s after Close", pid)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeClock hands every backoff wait to the test, which releases it.
type fakeClock struct {
	now   time.Time
	waits chan wait
}

type wait struct {
	d    time.Duration
	fire chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), waits: make(chan wait, 16)}
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	w := wait{d: d, fire: make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

// next returns the next backoff wait the supervisor asked for.
func (c *fakeClock) next(t *testing.T) wait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not start a backoff wait")
		return wait{}
	}
}
