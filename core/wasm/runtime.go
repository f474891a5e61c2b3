package wasm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Runtime loads filters. It holds the process-wide compilation cache; each
// filter gets a wazero runtime of its own, so its memory limit, its
// instances and its closing are its own.
type Runtime struct {
	cache   wazero.CompilationCache
	logger  *slog.Logger
	observe func(app, filter string) FilterObserver // Options.Observe
	closed  atomic.Bool
}

// ErrClosed is Load's error after Close.
var ErrClosed = errors.New("wasm: the runtime is closed")

// NewRuntime returns a Runtime whose compiled code is cached in
// opts.CacheDir.
func NewRuntime(ctx context.Context, opts Options) (*Runtime, error) {
	r := &Runtime{logger: opts.Logger, observe: opts.Observe}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if opts.CacheDir == "" {
		r.cache = wazero.NewCompilationCache()
		return r, nil
	}
	if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("wasm: creating the compilation cache %s: %w", opts.CacheDir, err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("wasm: opening the compilation cache %s: %w", opts.CacheDir, err)
	}
	r.cache = cache
	return r, nil
}

// Close releases the compilation cache; later Loads fail with ErrClosed.
// Close the filters first. Close is safe to call more than once.
func (r *Runtime) Close(ctx context.Context) error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	if err := r.cache.Close(ctx); err != nil {
		return fmt.Errorf("wasm: closing the compilation cache: %w", err)
	}
	return nil
}

// Load reads, verifies and compiles the module of s, and starts one
// instance of it. Errors name the filter and say what to fix.
func (r *Runtime) Load(ctx context.Context, s Spec) (*Filter, error) {
	if r.closed.Load() {
		return nil, fmt.Errorf("wasm filter %q: %w", s.Name, ErrClosed)
	}
	if err := s.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	code, err := os.ReadFile(s.Path)
	if err != nil {
		return nil, fmt.Errorf("wasm filter %q: reading the module: %w", s.Name, err)
	}
	sum := sha256.Sum256(code)
	if got := hex.EncodeToString(sum[:]); got != s.SHA256 {
		return nil, fmt.Errorf("wasm filter %q: %s has sha256 %s but the catalog pins %s: "+
			"rebuild the module or update the catalog's sha256", s.Name, s.Path, got, s.SHA256)
	}
	if s.Observer == nil && r.observe != nil {
		s.Observer = r.observe(s.App, s.Name)
	}
	f := newFilter(s, r.logger)
	f.rt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(s.MemoryPages).
		WithCloseOnContextDone(true))
	if err := f.setup(ctx, code); err != nil {
		_ = f.rt.Close(ctx)
		return nil, fmt.Errorf("wasm filter %q (%s): %w", s.Name, s.Path, err)
	}
	return f, nil
}

// setup registers the host modules, compiles the guest, checks its
// interface and starts the first instance.
func (f *Filter) setup(ctx context.Context, code []byte) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, f.rt); err != nil {
		return fmt.Errorf("instantiating WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, f.rt); err != nil {
		return fmt.Errorf("instantiating the http_handler host module: %w", err)
	}
	// Compile functions on every core: a Go guest is thousands of them.
	compiled, err := f.rt.CompileModule(experimental.WithCompilationWorkers(ctx, goruntime.GOMAXPROCS(0)), code)
	if err != nil {
		return fmt.Errorf("compiling: %w", err)
	}
	f.compiled = compiled
	if err := checkInterface(compiled); err != nil {
		return err
	}
	exports := compiled.ExportedFunctions()
	cfg := wazero.NewModuleConfig().
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader).
		WithStartFunctions() // run by newInstance, so its failure is explained
	switch {
	case exports["_initialize"] != nil: // a reactor, e.g. Go's -buildmode=c-shared
		f.start = "_initialize"
	case exports["_start"] != nil: // a command that returns, e.g. TinyGo
		f.start = "_start"
	}
	f.modConfig = cfg
	in, err := f.newInstance(ctx)
	if err != nil {
		return err
	}
	f.pool.prime(in)
	return nil
}
