package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// An Entry is one plug-in in the gateway's catalog: either built in (the
// gateway binary serves it when started as "gatehouse plugin serve NAME")
// or an executable at Path whose SHA-256 must be SHA256.
type Entry struct {
	Name    string
	Builtin bool
	Path    string
	SHA256  string // lowercase hex
}

// Validate reports what is wrong with e, naming the field.
func (e Entry) Validate() error {
	switch {
	case e.Name == "":
		return errors.New("plug-in entry: name is required")
	case e.Builtin && (e.Path != "" || e.SHA256 != ""):
		return fmt.Errorf("plug-in %q: builtin: true takes no path or sha256", e.Name)
	case e.Builtin:
		return nil
	case e.Path == "":
		return fmt.Errorf("plug-in %q: path is required (or builtin: true)", e.Name)
	case len(e.SHA256) != 64 || strings.Trim(strings.ToLower(e.SHA256), "0123456789abcdef") != "":
		return fmt.Errorf("plug-in %q: sha256 must be the 64 hex digits of the binary's SHA-256 (sha256sum %s)", e.Name, e.Path)
	}
	return nil
}

// command is the command that starts e. For a binary it first checks the
// checksum, so a binary that was replaced never runs.
func (e Entry) command(executable string) (*exec.Cmd, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if e.Builtin {
		if executable == "" {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("plug-in %q: finding the gateway binary to serve a built-in plug-in: %w", e.Name, err)
			}
			executable = exe
		}
		return exec.Command(executable, "plugin", "serve", e.Name), nil
	}
	sum, err := fileSHA256(e.Path)
	if err != nil {
		return nil, fmt.Errorf("plug-in %q: %w", e.Name, err)
	}
	if !strings.EqualFold(sum, e.SHA256) {
		return nil, fmt.Errorf("plug-in %q: %w: %s has sha256 %s, the catalog expects %s; not starting it",
			e.Name, ErrChecksum, e.Path, sum, strings.ToLower(e.SHA256))
	}
	return exec.Command(e.Path), nil
}

// fileSHA256 is the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading the plug-in binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading the plug-in binary %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
