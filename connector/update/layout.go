// Package update is the connector's side of signed updates (issue 19).
//
// Releases live in the connector's state directory, because the systemd
// unit makes the rest of the file system read-only:
//
//	<state>/releases/<version>/gatehouse-connector   the binary, mode 0755
//	<state>/releases/<version>/release.json          the signed release and key chain (Stored)
//	<state>/releases/current -> <version>            the release to run
//	<state>/releases/previous -> <version>           the one before, for rollback
//	<state>/releases/probation.json                  an unconfirmed new release (Probation)
//	<state>/releases/status.json                     a rollback to report to the gateway
//	<state>/releases/.tmp-*                          an update being written; removed at start
//
// Launch runs first in every start of the installed binary: it execs
// current when that release verifies (the trusted key and chain, and the
// sha256 of the file) and is newer than the installed binary, and rolls
// back a release that failed to confirm twice. Updater.Apply applies the
// gateway's tunnel.Update: it verifies the release before anything is
// written, downloads it into memory over the tunnel (StreamFetch), checks
// it, writes it, runs it as a trial child that the gateway probes, and
// only then swaps current (a new symlink renamed over the old one, so the
// link is always whole) and re-execs into the new binary once the
// connector has drained.
package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gatehouse/gatehouse/release"
)

// Names in the releases directory.
const (
	// Dir is the releases directory under the state directory.
	Dir         = "releases"
	BinaryName  = "gatehouse-connector"
	ReleaseFile = "release.json"
	currentLink = "current"
	prevLink    = "previous"
	probFile    = "probation.json"
	statusFile  = "status.json"
	tmpPrefix   = ".tmp-"
	// LaunchedEnv is set, in the environment of a binary the launcher or
	// an update exec'd, to the version it exec'd: that process neither
	// counts a launch nor execs again.
	LaunchedEnv = "GATEHOUSE_CONNECTOR_LAUNCHED"
)

// Stored is release.json: the signed release and the key chain it was
// verified with, so that every start verifies it again.
type Stored struct {
	Release release.Release       `json:"release"`
	Chain   []release.Endorsement `json:"chain,omitempty"`
}

func releasesDir(state string) string { return filepath.Join(state, Dir) }

// safeVersion reports whether v may name a directory: a manifest's
// version is semver, but the directory name must never be a path.
func safeVersion(v string) bool {
	return v != "" && !strings.HasPrefix(v, ".") && !strings.ContainsAny(v, `/\`) && v != currentLink && v != prevLink
}

// verifyDir checks the release in dir/<version> with the trusted key: its
// release.json verifies, it is for this OS and architecture and names
// the directory's version, and the binary's size and sha256 match. It
// returns the manifest.
func verifyDir(dir, version, trustedKey string) (release.Manifest, error) {
	key, err := release.ParsePublicKey(trustedKey)
	if err != nil {
		return release.Manifest{}, fmt.Errorf("trusted release key: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, version, ReleaseFile))
	if err != nil {
		return release.Manifest{}, err
	}
	var s Stored
	if err := json.Unmarshal(b, &s); err != nil {
		return release.Manifest{}, fmt.Errorf("%s: %w", filepath.Join(dir, version, ReleaseFile), err)
	}
	m, err := release.Verify(key, s.Chain, s.Release)
	if err != nil {
		return m, err
	}
	if err := checkPlatform(m); err != nil {
		return m, err
	}
	if m.Version != version {
		return m, fmt.Errorf("release.json is for %s, not %s", m.Version, version)
	}
	bin, err := os.ReadFile(filepath.Join(dir, version, BinaryName))
	if err != nil {
		return m, err
	}
	return m, m.CheckBinary(bin)
}

func checkPlatform(m release.Manifest) error {
	if m.OS != runtime.GOOS || m.Arch != runtime.GOARCH {
		return fmt.Errorf("release %s is for %s/%s; this connector runs on %s/%s", m.Version, m.OS, m.Arch, runtime.GOOS, runtime.GOARCH)
	}
	if !safeVersion(m.Version) {
		return fmt.Errorf("release version %q cannot name a directory", m.Version)
	}
	return nil
}

// link returns the version a symlink (current or previous) names, "" if
// there is none.
func link(dir, name string) string {
	t, err := os.Readlink(filepath.Join(dir, name))
	if err != nil || !safeVersion(t) {
		return ""
	}
	return t
}

// setLink points name at version atomically: a new symlink beside it,
// renamed over it. An empty version removes the link.
func setLink(dir, name, version string) error {
	p := filepath.Join(dir, name)
	if version == "" {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return syncDir(dir)
	}
	tmp := filepath.Join(dir, tmpPrefix+name)
	_ = os.Remove(tmp)
	if err := os.Symlink(version, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// clean removes what an interrupted update left: temporary directories
// and links (.tmp-*), atomicfile's temporary files, and release
// directories that neither current nor previous names (nor keep).
func clean(dir string, keep ...string) {
	entries, _ := os.ReadDir(dir)
	names := map[string]bool{link(dir, currentLink): true, link(dir, prevLink): true}
	for _, k := range keep {
		names[k] = true
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, tmpPrefix) || strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp"):
			_ = os.RemoveAll(filepath.Join(dir, n))
		case e.IsDir() && !names[n]:
			_ = os.RemoveAll(filepath.Join(dir, n))
		}
	}
}

// writeRelease writes a verified, checked release as dir/<version>: into
// a temporary directory first (files synced), renamed into place.
func writeRelease(dir string, s Stored, version string, bin []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	js, _ := json.MarshalIndent(s, "", "  ")
	for _, f := range []struct {
		name string
		data []byte
		mode fs.FileMode
	}{{BinaryName, bin, 0o755}, {ReleaseFile, append(js, '\n'), 0o644}} {
		if err := writeSynced(filepath.Join(tmp, f.name), f.data, f.mode); err != nil {
			_ = os.RemoveAll(tmp)
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	final := filepath.Join(dir, version)
	_ = os.RemoveAll(final) // an earlier attempt that was never swapped in
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	return syncDir(dir)
}

func writeSynced(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
