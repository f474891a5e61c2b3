// Package basiclab runs, for tests, the password-protected backend of
// scripts/basicauth-lab.sh: Apache with mod_auth_basic and an htpasswd
// file on a loopback port, and the same users behind a form login
// (mod_auth_form). The vault plug-in's tests and the end-to-end suite use
// it the same way:
//
//	lab, err := basiclab.Start(ctx)
//	... errors.Is(err, basiclab.ErrSkip): run without the lab, say why
//	defer lab.Stop()
//
// GATEHOUSE_BASICLAB decides what Start does:
//
//	unset    start a private lab when Apache and htpasswd are installed;
//	         otherwise skip
//	1        start a private lab, installing the packages first if needed
//	0        skip
//	DIR      use the lab already running in DIR
//	         (BASICLAB=DIR scripts/basicauth-lab.sh start)
//
// A private lab lives in a fresh directory under /tmp with a port picked at
// start, so test binaries running in parallel each have their own.
package basiclab

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

// ErrSkip wraps the reason a lab is not available; a test should skip.
var ErrSkip = errors.New("basic-auth lab not available")

// Lab is a running lab.
type Lab struct {
	Dir string
	// BaseURL is the backend's root, http://127.0.0.1:PORT: an app's
	// backend url. /index.html needs no sign-in.
	BaseURL string
	// URL is a page behind AuthType Basic that prints REMOTE_USER; User
	// and Password open it (the password has a colon and a space).
	URL      string
	User     string
	Password string
	// OtherUser and OtherPassword are a second account.
	OtherUser     string
	OtherPassword string
	// FormURL is a page behind a form login (mod_auth_form) that prints
	// REMOTE_USER: without a session it redirects to FormLoginPage.
	// FormLoginURL takes the login POST (fields FormUsernameField and
	// FormPasswordField): a 302 to FormURL with a session cookie, or to
	// FormLoginPage?failed.
	FormURL           string
	FormLoginURL      string
	FormLoginPage     string
	FormUsernameField string
	FormPasswordField string
	// AccessLog is Apache's access log: "IP user=USER \"REQUEST\" STATUS"
	// per request.
	AccessLog string

	script  string
	private bool
}

// Start returns a running lab, as GATEHOUSE_BASICLAB says (see the package
// doc). The error wraps ErrSkip when the lab is not available here.
func Start(ctx context.Context) (*Lab, error) {
	mode := os.Getenv("GATEHOUSE_BASICLAB")
	if mode == "0" {
		return nil, fmt.Errorf("%w: GATEHOUSE_BASICLAB=0", ErrSkip)
	}
	script, err := findScript()
	if err != nil {
		return nil, err
	}
	if mode != "" && mode != "1" {
		lab, err := read(mode)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_BASICLAB=%s: %w", mode, err)
		}
		lab.script = script
		return lab, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute) // installing packages takes a while
	defer cancel()
	if mode == "1" {
		if out, err := run(ctx, script, "", "install"); err != nil {
			return nil, fmt.Errorf("installing the Basic-auth lab's packages (%s install): %w\n%s", script, err, out)
		}
	} else if missing := Missing(); missing != "" {
		return nil, fmt.Errorf("%w: %s", ErrSkip, missing)
	}
	reapStale(script)
	dir, err := os.MkdirTemp("/tmp", privatePrefix)
	if err != nil {
		return nil, fmt.Errorf("making the lab directory: %w", err)
	}
	if out, err := run(ctx, script, dir, "start"); err != nil {
		_, _ = run(context.Background(), script, dir, "stop")
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the Basic-auth lab (%s start): %w\n%s", script, err, out)
	}
	lab, err := read(dir)
	if err == nil {
		// The owner's pid lets a later Start stop this lab if the owner
		// dies without calling Stop (a panic, a killed test binary).
		err = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	if err != nil {
		_, _ = run(context.Background(), script, dir, "stop")
		os.RemoveAll(dir)
		return nil, err
	}
	lab.script, lab.private = script, true
	return lab, nil
}

// Stop stops a lab that Start started, and removes its directory. A lab
// named by GATEHOUSE_BASICLAB=DIR is left running. Stop on nil does
// nothing.
func (l *Lab) Stop() error {
	if l == nil || !l.private {
		return nil
	}
	out, err := run(context.Background(), l.script, l.Dir, "stop")
	if err != nil {
		return fmt.Errorf("stopping the Basic-auth lab in %s: %w\n%s", l.Dir, err, out)
	}
	return os.RemoveAll(l.Dir)
}

// AccessLogLines is Apache's access log, one request a line.
func (l *Lab) AccessLogLines() ([]string, error) {
	b, err := os.ReadFile(l.AccessLog)
	if err != nil {
		return nil, fmt.Errorf("reading the backend's access log: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return nil, nil
	}
	return strings.Split(text, "\n"), nil
}

const (
	privatePrefix = "gatehouse-basiclab-"
	ownerFile     = "owner.pid" // the pid of the process that started the lab
)

// Missing names what this machine lacks to start a lab, and what to do,
// "" if nothing.
func Missing() string {
	var missing []string
	for _, cmd := range []string{"apache2", "htpasswd"} {
		if _, err := lookPath(cmd); err != nil {
			missing = append(missing, cmd)
		}
	}
	for _, mod := range []string{"mod_auth_basic.so", "mod_authn_file.so", "mod_auth_form.so", "mod_session_crypto.so", "mod_include.so"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/apache2/modules", mod)); err != nil {
			missing = append(missing, mod)
		}
	}
	if len(missing) > 0 {
		return "not installed: " + strings.Join(missing, ", ") + "; run `sudo scripts/basicauth-lab.sh install` (apache2, apache2-utils) or set GATEHOUSE_BASICLAB=1"
	}
	return ""
}

// reapStale stops the private labs whose owning process is gone (by the
// pid files in their directories, with the script) and removes them.
func reapStale(script string) {
	dirs, _ := filepath.Glob(filepath.Join("/tmp", privatePrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // malformed, or its owner still runs
		}
		if _, err := run(context.Background(), script, dir, "stop"); err == nil {
			os.RemoveAll(dir)
		}
	}
}

// lookPath finds cmd on PATH or in the sbin directories root's PATH has.
func lookPath(cmd string) (string, error) {
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

// findScript finds scripts/basicauth-lab.sh in the working directory or
// above it (a test runs in its package's directory).
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding scripts/basicauth-lab.sh: %w", err)
	}
	for {
		p := filepath.Join(dir, "scripts", "basicauth-lab.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: scripts/basicauth-lab.sh not found above the working directory", ErrSkip)
		}
		dir = parent
	}
}

func run(ctx context.Context, script, dir, verb string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "bash", script, verb)
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
	if dir != "" {
		cmd.Env = append(cmd.Env, "BASICLAB="+dir)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

// read loads the lab.env the script wrote in dir.
func read(dir string) (*Lab, error) {
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
	l := &Lab{
		Dir: env["BASICLAB"], BaseURL: env["BASE_URL"], URL: env["URL"], User: env["USER"], Password: env["PASSWORD"],
		OtherUser: env["OTHER_USER"], OtherPassword: env["OTHER_PASSWORD"],
		FormURL: env["FORM_URL"], FormLoginURL: env["FORM_LOGIN_URL"], FormLoginPage: env["FORM_LOGIN_PAGE"],
		FormUsernameField: env["FORM_USERNAME_FIELD"], FormPasswordField: env["FORM_PASSWORD_FIELD"],
		AccessLog: env["ACCESS_LOG"],
	}
	if l.URL == "" || l.User == "" || l.Password == "" || l.FormLoginURL == "" {
		return nil, fmt.Errorf("%s/lab.env lacks URL, USER, PASSWORD or FORM_LOGIN_URL", dir)
	}
	return l, nil
}
