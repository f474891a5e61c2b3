package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/wire"
)

// Kind is the kind of plug-in under test.
type Kind string

const (
	Authenticator Kind = "authenticator"
	Injector      Kind = "injector"
)

// Options tell the kit how to run a plug-in.
type Options struct {
	// Kind is the kind to test; "" means find out by asking the plug-in
	// (a plug-in that serves both is tested as an Authenticator).
	Kind Kind
	// Config is a config block the plug-in accepts.
	Config map[string]any
	// Keys are handed to the plug-in as the host would; nil means one fresh
	// key, so plug-ins that sign assertions can start.
	Keys []sdk.SigningKey
	// CallTimeout is the deadline of every well-formed call; a plug-in that
	// does not answer within it fails. Default 5 s.
	CallTimeout time.Duration
	// Logger receives the plug-in's log lines; nil discards them.
	Logger *slog.Logger
}

// Result is the outcome of one check: Err is nil when it passed, and then
// Detail may say what was seen.
type Result struct {
	Check  string
	Detail string
	Err    error
}

// Passed reports whether the check passed.
func (r Result) Passed() bool { return r.Err == nil }

// Check runs every check against the plug-in binary at path.
func Check(ctx context.Context, path string, opts Options) []Result {
	k, err := newKit(path, opts)
	if err == nil && k.opts.Kind == "" {
		err = k.detect(ctx)
	}
	if err != nil {
		return []Result{{Check: "setup", Err: err}}
	}
	return k.run(ctx)
}

// Report writes one line per check (and the reason of each failure) and a
// summary, and returns the number of failed checks.
func Report(w io.Writer, results []Result) int {
	failed := 0
	for _, r := range results {
		switch {
		case r.Passed() && r.Detail != "":
			fmt.Fprintf(w, "pass  %s (%s)\n", r.Check, r.Detail)
		case r.Passed():
			fmt.Fprintf(w, "pass  %s\n", r.Check)
		default:
			failed++
			fmt.Fprintf(w, "FAIL  %s\n      %v\n", r.Check, r.Err)
		}
	}
	fmt.Fprintf(w, "%d checks: %d passed, %d failed\n", len(results), len(results)-failed, failed)
	return failed
}

// Run runs the kit in a test, one subtest per check.
func Run(t *testing.T, path string, opts Options) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, r := range Check(ctx, path, opts) {
		t.Run(r.Check, func(t *testing.T) {
			if r.Err != nil {
				t.Error(r.Err)
			}
		})
	}
}

// RunAuthenticator runs the kit against an Authenticator binary that
// accepts cfg.
func RunAuthenticator(t *testing.T, path string, cfg map[string]any) {
	t.Helper()
	Run(t, path, Options{Kind: Authenticator, Config: cfg})
}

// RunInjector runs the kit against an Injector binary that accepts cfg.
func RunInjector(t *testing.T, path string, cfg map[string]any) {
	t.Helper()
	Run(t, path, Options{Kind: Injector, Config: cfg})
}

// kit is one run of the checks.
type kit struct {
	path  string
	opts  Options
	entry pluginhost.Entry
	host  pluginhost.Host
}

func newKit(path string, opts Options) (*kit, error) {
	if opts.Kind != "" && opts.Kind != Authenticator && opts.Kind != Injector {
		return nil, fmt.Errorf("conformance: Kind must be %q or %q, not %q", Authenticator, Injector, opts.Kind)
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 5 * time.Second
	}
	if opts.Keys == nil {
		key, err := sdk.NewSigningKey()
		if err != nil {
			return nil, err
		}
		opts.Keys = []sdk.SigningKey{key}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("reading the plug-in binary: %w", err)
	}
	sum := sha256.Sum256(b)
	return &kit{
		path:  abs,
		opts:  opts,
		entry: pluginhost.Entry{Name: filepath.Base(abs), Path: abs, SHA256: hex.EncodeToString(sum[:])},
		host: pluginhost.Host{
			Logger: opts.Logger, CallTimeout: opts.CallTimeout, StartTimeout: 15 * time.Second,
			// A crash must show as a crash, not be healed behind the kit's back.
			Backoff: pluginhost.Backoff{Initial: time.Hour, Max: time.Hour},
		},
	}, nil
}

// detect sets the kind: an Authenticator unless the plug-in says it does
// not serve that kind.
func (k *kit) detect(ctx context.Context) error {
	a := k.host.Authenticator(k.entry, pluginhost.Use{App: "conformance", Config: k.opts.Config, Keys: k.opts.Keys})
	defer a.Close()
	k.opts.Kind = Authenticator
	if err := a.Open(ctx); errors.Is(err, pluginhost.ErrWrongKind) {
		k.opts.Kind = Injector
	}
	return nil
}

// target is a new, unopened instance with config cfg, on host h.
func (k *kit) target(h pluginhost.Host, cfg map[string]any) target {
	return newTarget(h, k.opts.Kind, k.entry, pluginhost.Use{App: "conformance", Config: cfg, Keys: k.opts.Keys})
}

func (k *kit) run(ctx context.Context) []Result {
	results := []Result{
		k.refusesToRunAlone(ctx),
		k.otherVersionRefused(ctx),
		k.unknownKeyRefused(ctx),
		k.emptyConfigHandled(ctx),
	}
	main := k.target(k.host, k.opts.Config)
	handshake := Result{Check: "handshake and config", Detail: fmt.Sprintf("protocol version %d, mutual TLS, serves %s", wire.ProtocolVersion, k.opts.Kind)}
	if err := main.Open(ctx); err != nil {
		handshake.Detail, handshake.Err = "", fmt.Errorf("opening it with the given config failed: %w", err)
		var ce *pluginhost.ConfigError
		if errors.As(err, &ce) {
			handshake.Err = fmt.Errorf("%w\n      give the kit a config the plug-in accepts (Options.Config, or --config FILE)", handshake.Err)
		}
		main.Close()
		results = append(results, handshake)
		for _, name := range []string{checkNormal, checkDeadline, checkCancel, checkGarbage, checkConcurrency, checkShutdown} {
			results = append(results, Result{Check: name, Err: errors.New("not run: the plug-in did not start")})
		}
		return results
	}
	if d, ok := main.(interface{ Capabilities() []sdk.Capability }); ok && len(d.Capabilities()) > 0 {
		handshake.Detail += fmt.Sprintf(", declares capabilities %q", d.Capabilities())
	}
	return append(results, handshake,
		k.answersInTime(ctx, main),
		k.shortDeadline(ctx, main),
		k.cancelled(ctx, main),
		k.survivesGarbage(ctx, main),
		k.concurrent(ctx, main),
		k.shutsDownCleanly(main),
	)
}
