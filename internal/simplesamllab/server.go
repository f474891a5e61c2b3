package simplesamllab

// Running PHP's built-in web server in a process group of its own.

import (
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

	"github.com/gatehouse/gatehouse/internal/freeport"
	"github.com/gatehouse/gatehouse/internal/labscript"
)

// Options say how to serve a lab's directory.
type Options struct {
	// Dir holds the lab's files (see WriteConfig); the pid file goes there.
	Dir string
	// Port is where to listen on 127.0.0.1; 0 picks a free one (and tries
	// again with another if PHP cannot bind it).
	Port int
	// Skip is wrapped by the error when php cannot be started at all.
	Skip error
	// Prepare, if set, runs before each start with the URL PHP will serve
	// (http://127.0.0.1:PORT/), e.g. to write a config that names it.
	Prepare func(url string) error
	// Ready is polled until it returns nil (PHP serves the lab) or an
	// error made with Final, for at most 15 seconds.
	Ready func(ctx context.Context, url string) error
}

// Final marks an error of Options.Ready that waiting longer will not mend.
func Final(err error) error { return finalError{err} }

type finalError struct{ error }

func (e finalError) Unwrap() error { return e.error }

// Server is a running `php -S`.
type Server struct {
	// URL is where it listens: http://127.0.0.1:PORT/ (with the slash).
	URL string

	dir  string
	cmd  *exec.Cmd
	done chan struct{}    // closed when the process has exited
	log  labscript.Output // PHP's stdout and stderr
}

// Serve starts PHP's built-in web server on opts.Dir's lab and waits
// until it is ready. What it logged is in the error when it is not.
func Serve(ctx context.Context, opts Options) (*Server, error) {
	var last error
	for range 3 { // a port picked here may be taken before PHP binds it
		port := opts.Port
		if port == 0 {
			var err error
			if port, err = freeport.TCP(); err != nil {
				return nil, err
			}
		}
		s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port) + "/", dir: opts.Dir, done: make(chan struct{})}
		if opts.Prepare != nil {
			if err := opts.Prepare(s.URL); err != nil {
				return nil, err
			}
		}
		if err := s.start(opts.Dir, port, opts.Skip); err != nil {
			return nil, err
		}
		if last = s.wait(ctx, opts.Ready); last == nil {
			return s, nil
		}
		log := s.Log()
		s.kill()
		last = fmt.Errorf("starting SimpleSAMLphp on %s: %w\n%s", s.URL, last, log)
		if opts.Port != 0 || ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

func (s *Server) start(dir string, port int, skip error) error {
	// -d session.save_path puts the directory on the command line, so a
	// leftover process can be told apart (see Sweep). OPcache is on for
	// the cli-server SAPI (opcache.enable_cli is for "cli" only) and would
	// serve a config file changed while it runs for up to two more
	// seconds: revalidate on every request.
	cmd := exec.Command("php", "-d", "session.save_path="+filepath.Join(dir, "sessions"),
		"-d", "opcache.revalidate_freq=0",
		"-S", "127.0.0.1:"+strconv.Itoa(port), "-t", DocumentRoot)
	cmd.Dir = dir
	cmd.Env = append(environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(dir, "config"))
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: starting php -S: %v", skip, err)
	}
	s.cmd = cmd
	go func() { // owned by s: ends when the process exits
		_ = cmd.Wait()
		close(s.done)
	}()
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		s.kill()
		return err
	}
	return nil
}

// environ is the test's environment without what would change how PHP
// serves: no workers (PHP_CLI_SERVER_WORKERS: its forked workers would
// outlive a killed parent), no other config.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PHP_CLI_SERVER_WORKERS" || k == "SIMPLESAMLPHP_CONFIG_DIR" || strings.HasPrefix(k, "PHP_INI") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// wait polls ready until it answers.
func (s *Server) wait(ctx context.Context, ready func(context.Context, string) error) error {
	const limit = 15 * time.Second
	deadline := time.Now().Add(limit)
	for {
		err := ready(ctx, s.URL)
		var final finalError
		if err == nil || errors.As(err, &final) {
			return err
		}
		select {
		case <-s.done:
			return errors.New("php exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v: %w", limit, err)
		}
	}
}

// Log is what PHP and SimpleSAMLphp have logged so far.
func (s *Server) Log() string { return s.log.String() }

// Stop ends PHP (see kill) and removes the lab's directory. Stop on nil
// does nothing.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	s.kill()
	return os.RemoveAll(s.dir)
}

// kill ends the PHP process and anything it started (its process group),
// and waits for it.
func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-s.done
	}
}
