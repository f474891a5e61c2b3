// Package labscript runs the test labs that the project's own scripts
// stand up (scripts/kcdlab.sh, scripts/basicauth-lab.sh): it finds the
// script above the working directory, starts a private lab in a fresh
// directory under /tmp that records its owner's pid, reads the facts the
// script writes to lab.env, stops labs, and sweeps up labs whose owner
// died without stopping them. Output keeps what a lab's process writes,
// for the labs that run their own server (oplab, simplesamllab) too.
package labscript

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownerFile holds the pid of the process that started a private lab.
const ownerFile = "owner.pid"

// Script is one lab script.
type Script struct {
	Path   string // absolute path of the script
	DirEnv string // the variable that tells the script its lab directory, e.g. KCDLAB
	Prefix string // private lab directories are /tmp/PREFIX*
}

// Find locates scripts/NAME in the working directory or above it (a test
// runs in its package's directory). Not finding it is an error wrapping skip.
func Find(name, dirEnv, prefix string, skip error) (*Script, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("finding scripts/%s: %w", name, err)
	}
	for {
		p := filepath.Join(dir, "scripts", name)
		if _, err := os.Stat(p); err == nil {
			return &Script{Path: p, DirEnv: dirEnv, Prefix: prefix}, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("%w: scripts/%s not found above the working directory", skip, name)
		}
		dir = parent
	}
}

// Run runs the script's verb for the lab in dir ("" for none).
func (s *Script) Run(ctx context.Context, dir, verb string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "bash", s.Path, verb)
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
	if dir != "" {
		cmd.Env = append(cmd.Env, s.DirEnv+"="+dir)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

// Start starts a private lab in a new directory and returns it, after
// sweeping up labs whose owner is gone. On failure nothing is left behind.
func (s *Script) Start(ctx context.Context) (string, error) {
	s.ReapStale()
	dir, err := os.MkdirTemp("/tmp", s.Prefix)
	if err != nil {
		return "", fmt.Errorf("making the lab directory: %w", err)
	}
	out, err := s.Run(ctx, dir, "start")
	if err == nil {
		// The owner's pid lets a later Start stop this lab if the owner
		// dies without calling Stop (a panic, a killed test binary).
		err = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	if err != nil {
		_ = s.Stop(dir)
		os.RemoveAll(dir) // even if stop failed: nothing left behind
		return "", fmt.Errorf("starting the lab (%s start): %w\n%s", s.Path, err, out)
	}
	return dir, nil
}

// Stop stops the lab in dir and removes the directory.
func (s *Script) Stop(dir string) error {
	out, err := s.Run(context.Background(), dir, "stop")
	if err != nil {
		return fmt.Errorf("stopping the lab in %s: %w\n%s", dir, err, out)
	}
	return os.RemoveAll(dir)
}

// ReapStale stops the private labs whose owning process is gone and
// removes their directories.
func (s *Script) ReapStale() {
	dirs, _ := filepath.Glob(filepath.Join("/tmp", s.Prefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // malformed, or its owner still runs
		}
		_ = s.Stop(dir)
	}
}

// ReadEnv reads the KEY=VALUE lines the script wrote to dir/lab.env.
func ReadEnv(dir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "lab.env"))
	if err != nil {
		return nil, fmt.Errorf("reading the lab's facts: %w", err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, nil
}

// LookPath finds cmd on PATH or in the sbin directories root's PATH has.
func LookPath(cmd string) (string, error) {
	if p, err := exec.LookPath(cmd); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, cmd)); err == nil {
			return filepath.Join(dir, cmd), nil
		}
	}
	return "", fmt.Errorf("%s not found", cmd)
}

// Lab says how a lab package's Start gets its lab.
type Lab struct {
	Script  *Script
	Env     string        // the variable that decides: unset, 1, 0 or a lab directory
	Name    string        // for errors, e.g. "the KCD lab"
	Install bool          // with Env=1, run the script's install verb before start
	Missing func() string // what this machine lacks to start a lab, "" if nothing
	Skip    error         // what errors meaning "no lab here" wrap
}

// Open gets a lab as l.Env says — 0: none (an error wrapping l.Skip); a
// directory: the lab already running there; 1: a private lab, installed
// first if l.Install; unset: a private lab if nothing is missing, else
// none — and loads it with read. started reports a private lab, which
// the caller stops when done; one that read refuses is stopped here.
func Open[L any](ctx context.Context, l Lab, read func(dir string) (L, error)) (lab L, started bool, err error) {
	mode := os.Getenv(l.Env)
	switch mode {
	case "0":
		return lab, false, fmt.Errorf("%w: %s=0", l.Skip, l.Env)
	case "", "1":
	default:
		if lab, err = read(mode); err != nil {
			return lab, false, fmt.Errorf("%s=%s: %w", l.Env, mode, err)
		}
		return lab, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute) // installing packages takes a while
	defer cancel()
	if mode == "" {
		if missing := l.Missing(); missing != "" {
			return lab, false, fmt.Errorf("%w: %s", l.Skip, missing)
		}
	} else if l.Install {
		if out, err := l.Script.Run(ctx, "", "install"); err != nil {
			return lab, false, fmt.Errorf("installing %s's packages (%s install): %w\n%s", l.Name, l.Script.Path, err, out)
		}
	}
	dir, err := l.Script.Start(ctx)
	if err != nil {
		return lab, false, fmt.Errorf("%s: %w", l.Name, err)
	}
	if lab, err = read(dir); err != nil {
		_ = l.Script.Stop(dir)
		return lab, false, err
	}
	return lab, true, nil
}
