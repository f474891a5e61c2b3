//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDemo runs the demo as `make run` does, but with its own binaries,
// working directory and free ports, so it never meets a real `make run` on
// 8443. It pastes the printed curl line (which fetches an access token from
// the demo's OpenID provider) into sh, then ends the demo one of three ways
// and checks that no child (or child's process group) and no provider is
// left.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway, the connector and the demo app; skipped with -short")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed: this test runs the printed curl line, so it needs curl on PATH")
	}
	t.Parallel()
	bin := buildAll(t)

	for _, tc := range []struct {
		name     string
		end      func(t *testing.T, demo *exec.Cmd, pids map[string]int, provider int)
		wantExit int
		wantOut  string
		provider bool // the case needs the provider
	}{
		{
			name: "interrupt",
			end: func(t *testing.T, demo *exec.Cmd, _ map[string]int, _ int) {
				sendSignal(t, demo.Process.Pid, syscall.SIGINT)
			},
			wantExit: 0,
			wantOut:  "gatehouse demo: stopping connector, gateway, demo app",
		},
		{
			name: "a child dies",
			end: func(t *testing.T, _ *exec.Cmd, pids map[string]int, _ int) {
				sendSignal(t, pids["demo app"], syscall.SIGKILL)
			},
			wantExit: 1,
			wantOut:  "the demo app exited unexpectedly (signal: killed)",
		},
		{
			name: "the provider dies",
			end: func(t *testing.T, _ *exec.Cmd, _ map[string]int, provider int) {
				sendSignal(t, provider, syscall.SIGKILL)
			},
			wantExit: 1,
			wantOut:  "the OpenID provider stopped accepting connections",
			provider: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			demo, out, _ := runDemo(t, bin, nil)
			curl := out.waitFor(t, "^curl ", 90*time.Second)
			out.waitFor(t, "Press Ctrl-C to stop", 30*time.Second) // the whole banner is out
			pids := out.pids(t)
			signIn := out.signInOn(t)
			provider := providerPID(t, demo.Process.Pid, signIn)
			if tc.provider && provider == 0 {
				t.Skip("needs the OpenID provider's pid: sign-in is off, or there is no /proc")
			}
			if signIn && !strings.Contains(curl, `-H "Authorization: Bearer $(curl `) {
				t.Errorf("with sign-in on, the curl line sends no access token: %s", curl)
			}

			// Paste the curl line into a shell somewhere else.
			sh := exec.Command("sh", "-c", curl)
			sh.Dir = t.TempDir()
			page, err := sh.Output()
			if err != nil {
				t.Fatalf("running the printed line %q: %v\n%s", curl, err, stderrOf(err))
			}
			if !strings.Contains(string(page), "Hello from the internal demo app") {
				t.Fatalf("the printed curl line did not fetch the demo app's page:\n%s", page)
			}
			if signIn && !strings.Contains(string(page), "<dt>X-Remote-User</dt><dd>robot</dd>") {
				t.Errorf("the demo app did not see the robot as X-Remote-User:\n%s", page)
			}

			// The printed connectors command lists the connector as active.
			connectors := strings.TrimSpace(out.waitFor(t, ` connectors --config `, time.Second))
			list, err := exec.Command("sh", "-c", connectors).Output()
			if err != nil || !strings.Contains(string(list), "active") {
				t.Fatalf("%s: %v\n%s%s", connectors, err, list, stderrOf(err))
			}

			tc.end(t, demo, pids, provider)
			if code := out.exitCode(t, demo, 30*time.Second); code != tc.wantExit {
				t.Errorf("demo exited with status %d, want %d\n%s", code, tc.wantExit, out.text())
			}
			if !strings.Contains(out.text(), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out.text())
			}
			checkGone(t, pids, provider)
		})
	}
}

// checkGone checks that no child is left: each child leads its own process
// group, which must be gone, and the provider's process too.
func checkGone(t *testing.T, pids map[string]int, provider int) {
	t.Helper()
	for name, pid := range pids {
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("the %s (process group %d) is still there after the demo exited (kill: %v)", name, pid, err)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if provider != 0 {
		if err := syscall.Kill(provider, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("the OpenID provider (pid %d) is still there after the demo exited (kill: %v)", provider, err)
			_ = syscall.Kill(provider, syscall.SIGKILL)
		}
	}
}

// runDemo starts the demo built into bin on free ports in a new working
// directory (with a space in its path, which checks that the printed lines
// are quoted), with env added to its environment. It returns the command,
// its output and the working directory.
func runDemo(t *testing.T, bin string, env []string) (*exec.Cmd, *output, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run dir")
	demo := exec.Command(filepath.Join(bin, "demo"), "--bin", bin, "--dir", dir,
		"--public-port", "0", "--tunnel-port", "0", "--app-port", "0", "--oidc-port", "0", "--admin-port", "0")
	demo.Env = append(os.Environ(), env...)
	return demo, startDemo(t, demo), dir
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildAll builds the three binaries `make build` builds, and the demo
// itself, into a temporary directory, once for all tests.
func buildAll(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { builtBin, buildErr = build() })
	if errors.Is(buildErr, exec.ErrNotFound) {
		t.Skip("the go command is not on PATH; it is needed to build the binaries")
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func build() (string, error) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	bin, err := os.MkdirTemp("", "gatehouse-demo-test-")
	if err != nil {
		return "", err
	}
	build := exec.Command(gotool, "build", "-o", bin+string(os.PathSeparator),
		"github.com/gatehouse/gatehouse/cmd/gatehouse",
		"github.com/gatehouse/gatehouse/cmd/gatehouse-connector",
		"github.com/gatehouse/gatehouse/examples/demoapp",
		"github.com/gatehouse/gatehouse/examples/demo")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// output collects the demo's stdout line by line.
type output struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{} // signalled on every new line and at EOF
	eof   bool
}

// startDemo starts demo, and makes sure it is gone when the test ends.
func startDemo(t *testing.T, demo *exec.Cmd) *output {
	t.Helper()
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	demo.Stderr = demo.Stdout // one transcript; the pipe is shared
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	o := &output{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			o.mu.Lock()
			o.lines = append(o.lines, sc.Text())
			o.mu.Unlock()
			o.wake()
		}
		o.mu.Lock()
		o.eof = true
		o.mu.Unlock()
		o.wake()
	}()
	t.Cleanup(func() {
		if demo.ProcessState == nil { // the test failed early: stop it
			_ = demo.Process.Signal(syscall.SIGINT)
			o.exitCode(t, demo, 30*time.Second)
		}
	})
	return o
}

func (o *output) wake() {
	select {
	case o.more <- struct{}{}:
	default:
	}
}

func (o *output) text() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.lines, "\n")
}

// waitFor returns the first line matching pattern, failing after timeout
// or when the demo's output ends.
func (o *output) waitFor(t *testing.T, pattern string, timeout time.Duration) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.After(timeout)
	for {
		o.mu.Lock()
		lines, eof := o.lines, o.eof
		o.mu.Unlock()
		for _, l := range lines {
			if re.MatchString(l) {
				return l
			}
		}
		if eof {
			t.Fatalf("the demo ended without printing a line matching %q:\n%s", pattern, o.text())
		}
		select {
		case <-o.more:
		case <-deadline:
			t.Fatalf("no line matching %q within %s:\n%s", pattern, timeout, o.text())
		}
	}
}

var statusLine = regexp.MustCompile(`^  (demo app|gateway|connector) +pid (\d+) `)

// pids reads the children's pids from the status lines.
func (o *output) pids(t *testing.T) map[string]int {
	t.Helper()
	pids := map[string]int{}
	for _, l := range strings.Split(o.text(), "\n") {
		if m := statusLine.FindStringSubmatch(l); m != nil {
			pids[m[1]], _ = strconv.Atoi(m[2])
		}
	}
	if len(pids) != 3 {
		t.Fatalf("want status lines with the pids of the demo app, gateway and connector, got %v:\n%s", pids, o.text())
	}
	return pids
}

// exitCode waits for the demo to exit (after its output ends) and returns its status.
func (o *output) exitCode(t *testing.T, demo *exec.Cmd, timeout time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		o.waitEOF()
		done <- demo.Wait()
	}()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("waiting for the demo: %v", err)
		}
		return 0
	case <-time.After(timeout):
		_ = demo.Process.Kill()
		t.Fatalf("the demo did not exit within %s:\n%s", timeout, o.text())
		return -1
	}
}

func (o *output) waitEOF() {
	for {
		o.mu.Lock()
		eof := o.eof
		o.mu.Unlock()
		if eof {
			return
		}
		<-o.more
	}
}

func sendSignal(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill %d %v: %v", pid, sig, err)
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
