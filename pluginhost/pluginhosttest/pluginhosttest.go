// Package pluginhosttest starts plug-in binaries in tests the way the
// gateway and the connector do: over the real go-plugin protocol, through
// package pluginhost, with the binary's SHA-256 pinned in its catalog
// entry. The built-in plug-ins' tests, the examples' tests and the
// conformance kit's own tests use it; a plug-in author outside this
// repository runs the conformance kit (gatehouse plugin check).
package pluginhosttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
)

// OpenTimeout bounds the start of a plug-in, handshake and Configure
// included: far more than a start takes, so a loaded machine does not
// fail a test, and short enough that a plug-in that hangs does.
const OpenTimeout = 15 * time.Second

// Build compiles a plug-in's main package pkg ("./cmd/NAME", or "." for
// the module's root) into a new temporary directory and returns the
// catalog entry that starts it as plug-in name, and a function that
// removes the directory. dir is the directory the go command runs in: ""
// for the current one, or the root of another module (a plug-in written as
// a separate module, as a third party writes one). It takes no testing.T,
// so a TestMain can build once for all of a package's tests.
func Build(name, dir, pkg string) (e pluginhost.Entry, remove func(), err error) {
	tmp, err := os.MkdirTemp("", "plugin-"+name+"-")
	if err != nil {
		return pluginhost.Entry{}, nil, err
	}
	remove = func() { os.RemoveAll(tmp) }
	bin := filepath.Join(tmp, name)
	args := []string{"build"}
	if dir != "" {
		args = append(args, "-C", dir)
	}
	cmd := exec.Command(GoTool(), append(args, "-o", bin, pkg)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		remove()
		return pluginhost.Entry{}, nil, fmt.Errorf("building plug-in %s (%s in %q): %w\n%s", name, pkg, dir, err, out)
	}
	if e, err = Entry(name, bin); err != nil {
		remove()
		return pluginhost.Entry{}, nil, err
	}
	return e, remove, nil
}

// Entry is the catalog entry of the plug-in binary at path, as plug-in
// name, with the binary's SHA-256 pinned.
func Entry(name, path string) (pluginhost.Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return pluginhost.Entry{}, fmt.Errorf("reading the plug-in binary: %w", err)
	}
	sum := sha256.Sum256(b)
	return pluginhost.Entry{Name: name, Path: path, SHA256: hex.EncodeToString(sum[:])}, nil
}

// Authenticator starts e as an Authenticator for use u on host h and has
// it check u's config, as the gateway does when it loads an app. t's
// cleanup closes it. The error is Open's: a *pluginhost.ConfigError when
// the plug-in refused the config.
func Authenticator(t testing.TB, h pluginhost.Host, e pluginhost.Entry, u pluginhost.Use) (*pluginhost.Authenticator, error) {
	t.Helper()
	return open(t, h.Authenticator(e, u))
}

// Injector starts e as an Injector for use u on host h and has it check
// u's config, as the connector does when it loads an app. t's cleanup
// closes it. The error is Open's, as for [Authenticator].
func Injector(t testing.TB, h pluginhost.Host, e pluginhost.Entry, u pluginhost.Use) (*pluginhost.Injector, error) {
	t.Helper()
	return open(t, h.Injector(e, u))
}

// MustAuthenticator is [Authenticator] that fails t on an error.
func MustAuthenticator(t testing.TB, h pluginhost.Host, e pluginhost.Entry, u pluginhost.Use) *pluginhost.Authenticator {
	t.Helper()
	a, err := Authenticator(t, h, e, u)
	if err != nil {
		t.Fatalf("opening the plug-in: %v", err)
	}
	return a
}

// MustInjector is [Injector] that fails t on an error.
func MustInjector(t testing.TB, h pluginhost.Host, e pluginhost.Entry, u pluginhost.Use) *pluginhost.Injector {
	t.Helper()
	inj, err := Injector(t, h, e, u)
	if err != nil {
		t.Fatalf("opening the plug-in: %v", err)
	}
	return inj
}

// instance is what pluginhost.Authenticator and pluginhost.Injector share.
type instance interface {
	Open(ctx context.Context) error
	Close() error
}

func open[T instance](t testing.TB, in T) (T, error) {
	t.Helper()
	t.Cleanup(func() { in.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), OpenTimeout)
	defer cancel()
	return in, in.Open(ctx)
}

// GoTool is the go command of the toolchain that runs the tests.
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
