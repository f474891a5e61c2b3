package pluginhost_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
)

// A plug-in whose host is killed outright, so that it cannot stop its
// plug-ins, exits by itself: sdk.Serve watches its parent.
func TestPluginExitsWhenHostIsKilled(t *testing.T) {
	host := exec.Command(self(t), "test-host", "echo")
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	defer host.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the host printed no plug-in pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		t.Fatalf("the host printed %q, want the plug-in's pid", line)
	}
	if exited(pid) {
		t.Fatalf("plug-in %d is not running before its host is killed", pid)
	}
	if err := host.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if exited(pid) {
			return
		}
	}
	t.Fatalf("plug-in %d still runs 20s after its host was killed", pid)
}

// exited reports whether pid is gone or a zombie (an orphan's exit is
// reaped by whoever adopted it, maybe late).
func exited(pid int) bool {
	if gone(pid) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) STATE ...: comm may hold spaces, so look after the last ')'.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// hostUntilKilled is the test binary as a host: it starts plug-in name,
// prints its pid and waits to be killed.
func hostUntilKilled(name string) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h := pluginhost.Host{Logger: slog.New(slog.DiscardHandler), Executable: exe}
	a := h.Authenticator(pluginhost.Entry{Name: name, Builtin: true}, pluginhost.Use{App: "hr"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Open(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(a.PID())
	select {}
}
