package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
)

// The release binaries in these tests are the test binary itself: run
// with fakeEnv set, it acts as a connector release (TestMain).
const (
	fakeEnv     = "UPDATE_TEST_FAKE_CONNECTOR" // its value: a file to write what it was run with
	fakeTrial   = "UPDATE_TEST_TRIAL"          // "fail": the trial exits 3; "hang": it never exits
	launcherEnv = "UPDATE_TEST_LAUNCHER"       // run Launch on the state dir it names, then Exec
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(launcherEnv); dir != "" && os.Getenv(LaunchedEnv) == "" {
		path, v, ok := Launch(dir, "v1.0.0", os.Getenv("UPDATE_TEST_KEY"), slog.New(slog.NewTextHandler(os.Stderr, nil)))
		if !ok {
			fmt.Println("launcher: running the installed binary")
			os.Exit(0)
		}
		err := Exec(nil, path, v, []string{"--state", dir})
		fmt.Fprintln(os.Stderr, "exec:", err)
		os.Exit(2)
	}
	if out := os.Getenv(fakeEnv); out != "" {
		fakeConnector(out)
	}
	os.Exit(m.Run())
}

// fakeConnector is a release binary: a trial run passes (exit 0), fails
// with output, or hangs as fakeTrial says; any run writes its arguments
// and $GATEHOUSE_CONNECTOR_LAUNCHED to the file out.
func fakeConnector(out string) {
	line := strings.Join(os.Args[1:], " ") + "\nlaunched=" + os.Getenv(LaunchedEnv) + "\n"
	_ = os.WriteFile(out, []byte(line), 0o644)
	if slices.Contains(os.Args[1:], TrialFlag) {
		switch os.Getenv(fakeTrial) {
		case "fail":
			fmt.Fprintln(os.Stderr, "starting connector\nboom: this release cannot start")
			os.Exit(3)
		case "hang":
			select {}
		}
	}
	os.Exit(0)
}

type fixture struct {
	t      *testing.T
	state  string
	dir    string // state/releases
	priv   ed25519.PrivateKey
	key    string // the trusted key, formatted
	bin    []byte // the release binary (the test binary)
	out    string // what the fake connector writes
	mu     sync.Mutex
	status []tunnel.UpdateStatus
	execs  [][]string // path, argv..., and the LaunchedEnv entry
	drains int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	f := &fixture{t: t, state: state, dir: filepath.Join(state, Dir), priv: priv, key: release.FormatPublicKey(pub),
		bin: bin, out: filepath.Join(state, "fake-out")}
	t.Setenv(fakeEnv, f.out)
	t.Setenv(fakeTrial, "")
	return f
}

// update is a release of f.bin as version, signed with priv.
func (f *fixture) update(priv ed25519.PrivateKey, version string, bin []byte) tunnel.Update {
	f.t.Helper()
	sum := sha256.Sum256(bin)
	r, err := release.Sign(priv, release.Manifest{Version: version, OS: runtime.GOOS, Arch: runtime.GOARCH,
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(bin))})
	if err != nil {
		f.t.Fatal(err)
	}
	return tunnel.Update{Release: r, TrialTimeoutMillis: 60_000}
}

// updater is a connector running running, with the flags a real one has.
func (f *fixture) updater(running string) *Updater {
	return &Updater{StateDir: f.state, Version: running, TrustedKey: f.key,
		Args:  []string{"--state", f.state, "--token", "gh1_secret", "--sessions", "1"},
		Drain: func() { f.mu.Lock(); f.drains++; f.mu.Unlock() },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Exec: func(path string, argv, env []string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			i := slices.IndexFunc(env, func(kv string) bool { return strings.HasPrefix(kv, LaunchedEnv+"=") })
			f.execs = append(f.execs, append(append([]string{path}, argv...), env[i]))
			return nil
		}}
}

// apply runs u.Apply with the binary served as is, and returns the
// phases reported and the error.
func (f *fixture) apply(u *Updater, upd tunnel.Update, served []byte) ([]string, error) {
	f.mu.Lock()
	f.status = nil
	f.mu.Unlock()
	fetched := false
	fetch := func(_ context.Context, version, goos, goarch string) (io.ReadCloser, int64, error) {
		fetched = true
		if goos != runtime.GOOS || goarch != runtime.GOARCH {
			return nil, 0, errors.New("wrong platform asked")
		}
		return io.NopCloser(bytes.NewReader(served)), int64(len(served)), nil
	}
	err := u.Apply(context.Background(), upd, fetch, func(st tunnel.UpdateStatus) {
		f.mu.Lock()
		f.status = append(f.status, st)
		f.mu.Unlock()
	})
	var phases []string
	for _, st := range f.status {
		phases = append(phases, st.Phase)
	}
	if !fetched && slices.Contains(phases, tunnel.PhaseDownloading) {
		f.t.Error("reported downloading without fetching")
	}
	return phases, err
}

func (f *fixture) last() tunnel.UpdateStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status[len(f.status)-1]
}

// listing is the releases directory: names, with " -> target" for links.
func (f *fixture) listing() []string {
	f.t.Helper()
	entries, err := os.ReadDir(f.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if t, err := os.Readlink(filepath.Join(f.dir, n)); err == nil {
			n += " -> " + t
		}
		out = append(out, n)
	}
	return out
}

func (f *fixture) launch(own string) (string, string, bool) {
	return Launch(f.state, own, f.key, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// ensure the syscall import is used the way Exec uses it.
var _ ExecFunc = syscall.Exec

func formatKey(pub ed25519.PublicKey) string { return release.FormatPublicKey(pub) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
