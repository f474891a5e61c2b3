package cluster

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// backend is one store implementation the tests run on. fresh makes a new,
// empty database and returns a function that opens a handle to it (each
// handle is as another process: a gateway node or the CLI); the handle is
// closed when t ends. cut, when not nil, makes the database unreachable
// for every handle and returns a function that makes it reachable again.
type backend struct {
	name  string
	fresh func(t *testing.T) (open func(t *testing.T) store.Store, cut func(t *testing.T) func())
}

// sqliteBackend: one file in t.TempDir(). It cannot be cut: the tests
// close the handle instead.
var sqliteBackend = backend{name: "sqlite", fresh: func(t *testing.T) (func(*testing.T) store.Store, func(*testing.T) func()) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	return func(t *testing.T) store.Store {
		db, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}, nil
}}

// backends returns sqlite and, when the lab runs, postgres.
func backends() []backend {
	if postgresBackend.fresh == nil {
		return []backend{sqliteBackend}
	}
	return []backend{sqliteBackend, postgresBackend}
}

// forEach runs fn as a subtest on every backend.
func forEach(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// run runs fn(ctx) in a goroutine until t ends (its context is cancelled
// and the goroutine waited for), or until the returned stop is called.
func run(t *testing.T, fn func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("Run: %v", err)
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// waitFor waits until cond holds; it fails t if it does not within a
// minute (a generous bound for a loaded machine: the tests wait on events,
// they do not measure time).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recv receives from c or fails t after a minute.
func recv[T any](t *testing.T, what string, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

// logBuffer is a concurrency-safe log sink for checking what was logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// count returns how many lines contain s.
func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newLogger returns a logger that writes text to a new buffer.
func newLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// openSQLiteAt opens a handle to the sqlite file at path, closed when t
// ends.
func openSQLiteAt(t *testing.T, path string) store.Store {
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
