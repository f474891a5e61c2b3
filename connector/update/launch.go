package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/atomicfile"
	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
)

// MaxLaunches is how many starts a new release gets to confirm (a ready
// session) before the launcher rolls it back.
const MaxLaunches = 2

// Probation is probation.json: a release swapped in as current that has
// not yet confirmed. Launches counts the starts into it; the update's own
// exec is the first.
type Probation struct {
	Version  string `json:"version"`
	Launches int    `json:"launches"`
}

// ExecFunc replaces the process (syscall.Exec); tests replace it.
type ExecFunc func(path string, argv, env []string) error

// Launch is the launcher, run first by every start of the connector (not
// by a trial run). It removes what an interrupted update left, counts the
// start against a release on probation, rolls back one that failed to
// confirm MaxLaunches times (current := previous; status.json keeps the
// rollback for the gateway), and returns the binary to exec: current's,
// when it verifies with trustedKey and is release.Newer than ownVersion,
// unless $GATEHOUSE_CONNECTOR_LAUNCHED already names it. ok is false when
// the installed binary should run itself.
func Launch(stateDir, ownVersion, trustedKey string, log *slog.Logger) (execPath, version string, ok bool) {
	if log == nil {
		log = slog.Default()
	}
	dir := releasesDir(stateDir)
	if _, err := os.Stat(dir); err != nil {
		return "", "", false
	}
	clean(dir)
	launched := os.Getenv(LaunchedEnv)
	cur := link(dir, currentLink)
	if p, err := readProbation(dir); err == nil && p.Version != cur {
		_ = os.Remove(filepath.Join(dir, probFile)) // it was never swapped in
	} else if err == nil && launched != p.Version {
		if cur, err = countLaunch(dir, p, log); err != nil {
			log.Error("connector update: probation", "error", err)
		}
	}
	if cur == "" || launched == cur {
		return "", "", false
	}
	if trustedKey == "" {
		log.Warn("connector update: a release is installed but no release key is trusted (enroll with a token that has one, or --release-key): running the installed binary", "release", cur)
		return "", "", false
	}
	if _, err := verifyDir(dir, cur, trustedKey); err != nil {
		log.Error("connector update: the current release does not verify; running the installed binary", "release", cur, "error", err)
		return "", "", false
	}
	if !release.Newer(cur, ownVersion) {
		log.Info("connector update: the installed binary is as new as the current release; running it", "release", cur, "version", ownVersion)
		return "", "", false
	}
	return filepath.Join(dir, cur, BinaryName), cur, true
}

// countLaunch counts a start into the release on probation, or rolls it
// back once it has had MaxLaunches. It returns the current release after.
func countLaunch(dir string, p Probation, log *slog.Logger) (string, error) {
	if p.Launches < MaxLaunches {
		p.Launches++
		return p.Version, writeJSON(filepath.Join(dir, probFile), p)
	}
	prev := link(dir, prevLink)
	if prev == p.Version {
		prev = ""
	}
	if err := setLink(dir, currentLink, prev); err != nil {
		return p.Version, err
	}
	_ = setLink(dir, prevLink, "")
	to := prev
	if to == "" {
		to = "the installed binary"
	}
	msg := fmt.Sprintf("release %s started %d times without a ready session: rolled back to %s", p.Version, p.Launches, to)
	log.Warn("connector update: rolled back", "release", p.Version, "to", to, "launches", p.Launches)
	st := tunnel.UpdateStatus{Version: p.Version, Phase: tunnel.PhaseRolledBack, Error: msg}
	if err := writeJSON(filepath.Join(dir, statusFile), st); err != nil {
		log.Error("connector update: saving the rollback report", "error", err)
	}
	_ = os.Remove(filepath.Join(dir, probFile))
	_ = os.RemoveAll(filepath.Join(dir, p.Version))
	return prev, nil
}

// Exec replaces the process with the release binary at path, with args
// and the environment plus LaunchedEnv=version.
func Exec(exec ExecFunc, path, version string, args []string) error {
	if exec == nil {
		exec = syscall.Exec
	}
	argv := append([]string{path}, args...)
	err := exec(path, argv, withEnv(os.Environ(), LaunchedEnv, version))
	if err != nil {
		return fmt.Errorf("starting release %s (%s): %w", version, path, err)
	}
	return nil
}

func withEnv(env []string, key, value string) []string {
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	return append(env, key+"="+value)
}

// Confirm ends the probation of a new release: it runs and has a ready
// session. Nothing on probation is fine.
func Confirm(stateDir string) error {
	err := os.Remove(filepath.Join(releasesDir(stateDir), probFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// TakeStatus returns the rollback the launcher saved for the gateway, if
// any, and forgets it.
func TakeStatus(stateDir string) *tunnel.UpdateStatus {
	p := filepath.Join(releasesDir(stateDir), statusFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	_ = os.Remove(p)
	var st tunnel.UpdateStatus
	if json.Unmarshal(b, &st) != nil || st.Phase == "" {
		return nil
	}
	return &st
}

func readProbation(dir string) (Probation, error) {
	var p Probation
	b, err := os.ReadFile(filepath.Join(dir, probFile))
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, err
	}
	return p, nil
}

func writeJSON(path string, v any) error {
	b, _ := json.Marshal(v)
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
}
