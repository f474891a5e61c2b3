package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/core/wasm"
)

// failingStore fails one method, as a store that breaks part-way would.
type failingStore struct {
	store.Store
	method string
}

var errBroken = errors.New("the store is broken (test)")

func (s failingStore) GetBlob(ctx context.Context, key string) (store.Blob, error) {
	if s.method == "GetBlob" {
		return store.Blob{}, errBroken
	}
	return s.Store.GetBlob(ctx, key)
}

func (s failingStore) LoadCA(ctx context.Context) (store.CA, error) {
	if s.method == "LoadCA" {
		return store.CA{}, errBroken
	}
	return s.Store.LoadCA(ctx)
}

// lifecycleCase is one way of starting a gateway that may fail part-way.
type lifecycleCase struct {
	name string
	// setup writes what the case needs into dir and returns extra config
	// (top-level keys, then the app's keys) and the store method to break.
	setup   func(t *testing.T, dir string) (top, app, broken string)
	failNew bool // New fails (else Listen does, or nothing)
	listen  func(t *testing.T) (public, tunnel string, hold func())
}

func fileSum(t *testing.T, path string, content []byte) string {
	t.Helper()
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

var lifecycleCases = []lifecycleCase{
	{name: "store fails loading the keys", failNew: true,
		setup: func(*testing.T, string) (string, string, string) { return "", "", "GetBlob" }},
	{name: "store fails loading the connector CA", failNew: true,
		setup: func(*testing.T, string) (string, string, string) { return "", "", "LoadCA" }},
	{name: "WASM cache cannot be created", failNew: true,
		setup: func(t *testing.T, dir string) (string, string, string) {
			if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
				t.Fatal(err)
			}
			fileSum(t, filepath.Join(dir, "data", "wasm-cache"), []byte("a file, not a directory"))
			return "", "", ""
		}},
	{name: "bad plug-in", failNew: true,
		setup: func(t *testing.T, dir string) (string, string, string) {
			p := filepath.Join(dir, "broken-plugin")
			sum := fileSum(t, p, []byte("#!/nonexistent/interpreter\n"))
			if err := os.Chmod(p, 0o700); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("plugins:\n  - {name: broken, path: %q, sha256: %s}\n", p, sum), "    auth: {plugin: broken}\n", ""
		}},
	{name: "bad filter", failNew: true,
		setup: func(t *testing.T, dir string) (string, string, string) {
			p := filepath.Join(dir, "bad.wasm")
			sum := fileSum(t, p, []byte("\x00asm\x01\x00\x00\x00 not a module"))
			return fmt.Sprintf("filters:\n  - {name: bad, path: %q, sha256: %s}\n", p, sum),
				"    auth: passthrough\n    filters: [{filter: bad}]\n", ""
		}},
	{name: "development CA cannot be written", failNew: true,
		setup: func(t *testing.T, dir string) (string, string, string) {
			if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
				t.Fatal(err)
			}
			fileSum(t, filepath.Join(dir, "data", "dev-tls"), []byte("a file, not a directory"))
			return "", "", ""
		}},
	{name: "tunnel port in use",
		setup: func(*testing.T, string) (string, string, string) { return "", "", "" },
		listen: func(t *testing.T) (string, string, func()) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			return "127.0.0.1:0", ln.Addr().String(), func() { ln.Close() }
		}},
	{name: "nothing fails",
		setup: func(*testing.T, string) (string, string, string) { return "", "", "" }},
}

// A gateway whose New or Listen fails at any stage leaves nothing behind
// once closed: no goroutine, no open file, no bound port; Close may be
// called again, and a later Apply is refused.
func TestCloseAfterPartialStart(t *testing.T) {
	for _, c := range lifecycleCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			top, app, broken := c.setup(t, dir)
			public, tunnel, hold := "127.0.0.1:0", "127.0.0.1:0", func() {}
			if c.listen != nil {
				public, tunnel, hold = c.listen(t)
			}
			defer hold()
			cfg := lifecycleConfig(t, dir, public, tunnel, top, app)
			db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			before := snapshotResources()
			opts := Options{Store: failingStore{Store: db, method: broken}, Logger: slog.New(slog.DiscardHandler)}

			g, err := start(context.Background(), cfg, opts)
			if (err != nil) != c.failNew {
				t.Fatalf("New: error %v, want failure %v", err, c.failNew)
			}
			var bound string
			if err == nil {
				err = g.Listen()
				if c.listen != nil && err == nil {
					t.Fatal("Listen succeeded on a port in use")
				}
				if err == nil {
					bound = g.PublicAddr()
				}
			}
			if err := g.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := g.Close(); err != nil {
				t.Errorf("Close again: %v", err)
			}
			if g.snap.Load() != nil {
				if err := g.Apply(cfg); err == nil {
					t.Error("Apply after Close succeeded")
				}
			}
			if g.wasm != nil {
				if _, err := g.wasm.Load(context.Background(), wasm.Spec{Name: "after-close"}); !errors.Is(err, wasm.ErrClosed) {
					t.Errorf("the WASM runtime still loads after Close: %v", err)
				}
			}
			before.check(t)
			if bound != "" {
				ln, err := net.Listen("tcp", bound)
				if err != nil {
					t.Fatalf("the public port %s is still bound after Close: %v", bound, err)
				}
				ln.Close()
			}
		})
	}
}

// A gateway that served and stopped leaves nothing behind either.
func TestServeThenCloseReleasesAll(t *testing.T) {
	dir := t.TempDir()
	cfg := lifecycleConfig(t, dir, "127.0.0.1:0", "127.0.0.1:0", "", "")
	// The store's connection pool grows with the node's concurrent
	// readers (the change feed, heart-beats): it is counted closed.
	before := snapshotResources()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g, err := New(context.Background(), cfg, Options{Store: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	conn, err := net.Dial("tcp", g.PublicAddr()) // serving: it accepts
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close after Serve: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before.check(t)
}

func lifecycleConfig(t *testing.T, dir, public, tunnel, top, app string) *config.Config {
	t.Helper()
	text := fmt.Sprintf("data_dir: %q\nlisten: {public: %q, tunnel: %q}\n%sconnector_groups:\n  - name: default\napps:\n"+
		"  - name: hr\n    host: hr.example.com\n    group: default\n    backend: {url: \"http://10.0.0.5\"}\n",
		filepath.Join(dir, "data"), public, tunnel, top)
	if app == "" {
		app = "    auth: passthrough\n"
	}
	text += app
	path := filepath.Join(dir, "gatehouse.yaml")
	cfg, err := config.Parse(path, []byte(text))
	if err != nil {
		t.Fatalf("config:\n%s\n%v", text, err)
	}
	return cfg
}

// resources are what a test process holds: goroutines and open files.
type resources struct{ goroutines, files int }

func snapshotResources() resources {
	return resources{runtime.NumGoroutine(), openFiles()}
}

func openFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1 // not Linux: not counted
	}
	return len(fds)
}

// check waits (bounded) for the process to be back to r: a goroutine may
// take a moment to return after what it waited on was closed.
func (r resources) check(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		now := snapshotResources()
		if now.goroutines <= r.goroutines && now.files <= r.files {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("leaked: %d goroutines (was %d), %d open files (was %d)\n%s",
				now.goroutines, r.goroutines, now.files, r.files, leakedStacks(string(buf)))
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling the process's own state, bounded by deadline
	}
}

// leakedStacks keeps the goroutines that are not the test machinery's.
func leakedStacks(all string) string {
	var out []string
	for _, g := range strings.Split(all, "\n\n") {
		if !strings.Contains(g, "testing.(*T).Run") && !strings.Contains(g, "testing.tRunner") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
