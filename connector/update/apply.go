package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
)

// MaxBinary bounds a release binary, whatever its manifest says: the
// download is held in memory until it is checked.
const MaxBinary = 512 << 20

// DefaultTrialTimeout bounds a trial run when the Update names none.
const DefaultTrialTimeout = 2 * time.Minute

// FetchFunc downloads the binary of a release: a reader of size bytes.
type FetchFunc func(ctx context.Context, version, goos, goarch string) (io.ReadCloser, int64, error)

// Updater applies the gateway's updates to a running connector.
type Updater struct {
	StateDir string
	// Version is the running binary's version.
	Version string
	// TrustedKey is the release public key from enrollment or
	// --release-key; without one every update is refused.
	TrustedKey string
	// Args are the connector's flags, to run the trial (with --trial
	// added, --token removed) and the new binary with.
	Args []string
	// Drain starts the connector's orderly stop (Connector.Drain) before
	// the re-exec; Restart execs once the connector has stopped.
	Drain func()
	Log   *slog.Logger
	// Exec replaces the process; nil: syscall.Exec.
	Exec ExecFunc

	mu      sync.Mutex
	busy    bool
	pending string // the version to exec once drained
	ready   sync.Once
}

// Update applies u in the background of a session: fetches over streams
// that open opens on the session, reports every phase with report.
func (u *Updater) Update(ctx context.Context, upd tunnel.Update, open func() (net.Conn, error), report func(tunnel.UpdateStatus)) {
	if err := u.Apply(ctx, upd, StreamFetch(open), report); err != nil {
		u.log().Warn("connector update not applied", "error", err)
	}
}

// Ready is called once a session is ready: a new release is confirmed
// (its probation ends) and a rollback the launcher saved is returned, the
// first time only, for the gateway.
func (u *Updater) Ready() *tunnel.UpdateStatus {
	var st *tunnel.UpdateStatus
	u.ready.Do(func() {
		if err := Confirm(u.StateDir); err != nil {
			u.log().Error("connector update: confirming the release", "error", err)
		}
		st = TakeStatus(u.StateDir)
	})
	return st
}

// Apply verifies, downloads, checks, writes and trials the release of
// upd, then swaps it in as current and drains the connector for Restart.
// Each phase is reported; the error is the last report's.
func (u *Updater) Apply(ctx context.Context, upd tunnel.Update, fetch FetchFunc, report func(tunnel.UpdateStatus)) error {
	st := tunnel.UpdateStatus{Phase: tunnel.PhaseRefused}
	fail := func(phase string, err error) error {
		st.Phase, st.Error = phase, err.Error()
		report(st)
		return fmt.Errorf("release %s: %s: %w", st.Version, phase, err)
	}
	if m, err := release.ParseManifest(upd.Release.Manifest); err == nil {
		st.Version = m.Version // unverified: names the report only
	}
	if !u.start() {
		return fail(tunnel.PhaseRefused, errors.New("another update is under way or done on this connector"))
	}
	defer u.finish()
	m, err := u.verify(upd)
	if err != nil {
		return fail(tunnel.PhaseRefused, err)
	}
	st.Phase = tunnel.PhaseDownloading
	report(st)
	bin, err := download(ctx, fetch, m)
	var bad *badBinary
	if errors.As(err, &bad) {
		return fail(tunnel.PhaseRefused, err) // nothing was written
	} else if err != nil {
		return fail(tunnel.PhaseFailed, err)
	}
	dir := releasesDir(u.StateDir)
	if err := writeRelease(dir, Stored{Release: upd.Release, Chain: upd.Chain}, m.Version, bin); err != nil {
		return fail(tunnel.PhaseFailed, fmt.Errorf("writing the release: %w", err))
	}
	st.Phase = tunnel.PhaseTrial
	report(st)
	timeout := time.Duration(upd.TrialTimeoutMillis) * time.Millisecond
	if timeout <= 0 {
		timeout = DefaultTrialTimeout
	}
	if err := runTrial(ctx, filepath.Join(dir, m.Version, BinaryName), u.StateDir, u.Args, timeout); err != nil {
		removeUnused(dir, m.Version)
		return fail(tunnel.PhaseTrialFailed, err)
	}
	st.Phase = tunnel.PhaseSwapping
	report(st)
	if err := swap(dir, m.Version); err != nil {
		return fail(tunnel.PhaseFailed, fmt.Errorf("swapping the release in: %w", err))
	}
	u.mu.Lock()
	u.pending = m.Version
	u.mu.Unlock()
	st.Phase = tunnel.PhaseRestarting
	report(st)
	u.log().Info("connector update: draining, then restarting into the new release", "release", m.Version)
	if u.Drain != nil {
		u.Drain()
	}
	return nil
}

// verify checks upd before anything is written: a trusted key, the
// signature and chain, this platform, and a newer version.
func (u *Updater) verify(upd tunnel.Update) (release.Manifest, error) {
	if u.TrustedKey == "" {
		return release.Manifest{}, errors.New("this connector trusts no release key (enroll with a token that carries one, or start it with --release-key): updates are refused")
	}
	key, err := release.ParsePublicKey(u.TrustedKey)
	if err != nil {
		return release.Manifest{}, fmt.Errorf("the trusted release key: %w", err)
	}
	m, err := release.Verify(key, upd.Chain, upd.Release)
	if err != nil {
		return m, err
	}
	if err := checkPlatform(m); err != nil {
		return m, err
	}
	if !release.Newer(m.Version, u.Version) {
		return m, fmt.Errorf("release %s is not newer than the running %s: a connector never downgrades itself", m.Version, u.Version)
	}
	if m.Size <= 0 || m.Size > MaxBinary {
		return m, fmt.Errorf("release %s: binary size %d is outside 1..%d bytes", m.Version, m.Size, MaxBinary)
	}
	return m, nil
}

// download reads the binary into memory, no more than the manifest's
// size, and checks it against the manifest.
func download(ctx context.Context, fetch FetchFunc, m release.Manifest) ([]byte, error) {
	rc, size, err := fetch(ctx, m.Version, m.OS, m.Arch)
	if err != nil {
		return nil, fmt.Errorf("downloading: %w", err)
	}
	defer rc.Close()
	if size != m.Size {
		return nil, &badBinary{fmt.Errorf("the gateway offers %d bytes; the manifest says %d", size, m.Size)}
	}
	bin := make([]byte, 0, m.Size+1)
	bin, err = readAll(io.LimitReader(rc, m.Size+1), bin)
	if err != nil {
		return nil, fmt.Errorf("downloading: %w", err)
	}
	if err := m.CheckBinary(bin); err != nil {
		return nil, &badBinary{err}
	}
	return bin, nil
}

// badBinary is a download that is not the signed binary: refused.
type badBinary struct{ err error }

func (e *badBinary) Error() string { return e.err.Error() }
func (e *badBinary) Unwrap() error { return e.err }

func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// swap makes version current and the old current previous. probation.json
// is written first: a swap interrupted before current moved leaves a
// probation for a release that is not current, which Launch drops.
func swap(dir, version string) error {
	if err := writeJSON(filepath.Join(dir, probFile), Probation{Version: version, Launches: 1}); err != nil {
		return err
	}
	if old := link(dir, currentLink); old != "" && old != version {
		if err := setLink(dir, prevLink, old); err != nil {
			return err
		}
	}
	if err := setLink(dir, currentLink, version); err != nil {
		return err
	}
	clean(dir)
	return nil
}

// removeUnused removes a release directory that no link names.
func removeUnused(dir, version string) {
	if link(dir, currentLink) != version && link(dir, prevLink) != version {
		clean(dir)
	}
}

// Restart execs the release an Apply swapped in, once the connector has
// stopped; it returns nil at once when there is none.
func (u *Updater) Restart() error {
	u.mu.Lock()
	v := u.pending
	u.mu.Unlock()
	if v == "" {
		return nil
	}
	return Exec(u.Exec, filepath.Join(releasesDir(u.StateDir), v, BinaryName), v, u.Args)
}

// Pending reports whether Restart has a release to exec.
func (u *Updater) Pending() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.pending != ""
}

func (u *Updater) start() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.busy || u.pending != "" {
		return false
	}
	u.busy = true
	return true
}

func (u *Updater) finish() {
	u.mu.Lock()
	u.busy = false
	u.mu.Unlock()
}

func (u *Updater) log() *slog.Logger {
	if u.Log == nil {
		return slog.Default()
	}
	return u.Log
}
