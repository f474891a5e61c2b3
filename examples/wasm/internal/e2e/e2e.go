// Package e2e runs an example filter the way Gatehouse does: it builds
// the filter with the standard Go toolchain (GOOS=wasip1 GOARCH=wasm,
// -buildmode=c-shared) and loads it into the core's WASM host, for the
// examples' end-to-end tests.
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/wasm"
)

// Build builds the filter in the current directory into a temporary
// directory and returns the module's path.
func Build(tb testing.TB) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "filter.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building the filter: %v\n%s", err, b)
	}
	return out
}

// Load loads the module at path with config, logging to logger (nil
// discards).
func Load(tb testing.TB, path string, config string, logger *slog.Logger) *wasm.Filter {
	tb.Helper()
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: cacheDir(tb), Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	f, err := rt.Load(ctx, wasm.Spec{Name: filepath.Base(filepath.Dir(path)), Path: path, SHA256: hex.EncodeToString(sum[:]), Config: []byte(config),
		Timeout: 10 * time.Second}) // generous: -race on a busy machine
	if err != nil {
		_ = rt.Close(ctx)
		tb.Fatalf("loading the filter: %v", err)
	}
	tb.Cleanup(func() {
		_ = f.Close(ctx)
		_ = rt.Close(ctx)
	})
	return f
}

// cacheDir keeps compiled code across test runs.
func cacheDir(tb testing.TB) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return tb.TempDir()
	}
	return filepath.Join(dir, "gatehouse", "wasm-test-compiled")
}
