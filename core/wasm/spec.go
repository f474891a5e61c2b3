package wasm

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"time"
)

// Options configure a [Runtime].
type Options struct {
	// CacheDir is a private directory for compiled machine code, created
	// if missing. Empty keeps compiled code in memory only, so every
	// process start compiles every module again.
	CacheDir string
	// Logger receives the host's and the guests' log records. Nil
	// discards them.
	Logger *slog.Logger
	// Observe gives each loaded filter without a Spec.Observer one
	// (observe.go); nil: none.
	Observe func(app, filter string) FilterObserver
}

// Spec describes one filter: which module, its config, and its limits.
// Zero limits take the defaults documented on each field.
type Spec struct {
	// Name identifies the filter in logs and errors (required).
	Name string
	// App is the app the filter serves, logged as "app" (optional).
	App string
	// Path is the module file (required).
	Path string
	// SHA256 is the module's hex sha256 as the catalog pins it (required):
	// a file that does not match is refused.
	SHA256 string
	// Config is handed to the guest by get_config, unread by the host.
	Config []byte

	// PoolSize bounds the instances alive at once, so it bounds the
	// requests the filter serves concurrently. Default 2×GOMAXPROCS.
	PoolSize int
	// FreshPerRequest gives every request a new instance, closed after
	// it: no guest state survives from one user's request to another's.
	FreshPerRequest bool
	// MemoryPages caps an instance's memory in 64 KiB pages. Default 256
	// (16 MiB); a Go guest needs at least 32.
	MemoryPages uint32
	// RecyclePages: an instance whose memory grew past this many pages is
	// closed after its request and replaced (memory never shrinks).
	// Default three quarters of MemoryPages.
	RecyclePages uint32
	// Timeout bounds each guest call (handle_request, handle_response).
	// Default 1s.
	Timeout time.Duration
	// QueueTimeout bounds the wait for a free instance; then 503.
	// Default 1s.
	QueueTimeout time.Duration
	// MaxBodyBytes bounds a body the host buffers for the guest (request
	// or response). Default 8 MiB.
	MaxBodyBytes int64
	// MaxFailures consecutive failures (traps, failed instantiations)
	// stop the filter until it is loaded again. Default 5.
	MaxFailures int
	// Observer is told about each guest call (observe.go); nil: none.
	Observer FilterObserver
}

// Defaults.
const (
	DefaultMemoryPages  = 256
	DefaultTimeout      = time.Second
	DefaultQueueTimeout = time.Second
	DefaultMaxBodyBytes = 8 << 20
	DefaultMaxFailures  = 5
	maxMemoryPages      = 65536
)

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckAndSetDefaults validates s and fills in zero limits. The error
// names every bad field.
func (s *Spec) CheckAndSetDefaults() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if s.Name == "" {
		bad("name", "is required")
	}
	if s.Path == "" {
		bad("path", "is required: the .wasm file of the filter")
	}
	switch {
	case s.SHA256 == "":
		bad("sha256", "is required: pin the module with the output of `sha256sum %s`", s.Path)
	case !hexSHA256.MatchString(s.SHA256):
		bad("sha256", "%q is not 64 lower-case hex digits", s.SHA256)
	}
	if s.PoolSize < 0 {
		bad("pool_size", "%d is negative", s.PoolSize)
	} else if s.PoolSize == 0 {
		s.PoolSize = 2 * runtime.GOMAXPROCS(0)
	}
	if s.MemoryPages == 0 {
		s.MemoryPages = DefaultMemoryPages
	} else if s.MemoryPages > maxMemoryPages {
		bad("memory_pages", "%d is over the 65536 pages (4 GiB) of 32-bit WebAssembly", s.MemoryPages)
	}
	if s.RecyclePages == 0 {
		s.RecyclePages = s.MemoryPages / 4 * 3
	} else if s.RecyclePages > s.MemoryPages {
		bad("recycle_pages", "%d is over memory_pages %d", s.RecyclePages, s.MemoryPages)
	}
	if s.Timeout < 0 {
		bad("timeout", "%v is negative", s.Timeout)
	} else if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.QueueTimeout < 0 {
		bad("queue_timeout", "%v is negative", s.QueueTimeout)
	} else if s.QueueTimeout == 0 {
		s.QueueTimeout = DefaultQueueTimeout
	}
	if s.MaxBodyBytes < 0 {
		bad("max_body_bytes", "%d is negative", s.MaxBodyBytes)
	} else if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.MaxFailures < 0 {
		bad("max_failures", "%d is negative", s.MaxFailures)
	} else if s.MaxFailures == 0 {
		s.MaxFailures = DefaultMaxFailures
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wasm filter %q: %w", s.Name, err)
	}
	return nil
}
