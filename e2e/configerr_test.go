package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStrictConfigErrors writes a config with an unknown nested key and a
// bad duration: "gatehouse config check" and "gatehouse serve" both exit 1
// and name file, line and column of each mistake.
func TestStrictConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	public, tunnelAddr := freeAddr(t), freeAddr(t)
	lines := []string{
		"# a config with two mistakes",
		"listen:",
		fmt.Sprintf("  public: %q", public),
		fmt.Sprintf("  tunnel: %q", tunnelAddr),
		"  pubilc: \"127.0.0.1:1\"",
		"tunnel:",
		"  heartbeat_interval: 10x",
		"connector_groups:",
		"  - name: default",
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"bad.yaml:5:3: listen.pubilc: unknown key",
		"bad.yaml:7:23: tunnel.heartbeat_interval: \"10x\" is not a duration",
	}
	check := func(t *testing.T, stdout, stderr string, code int) {
		t.Helper()
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr does not contain %q:\n%s", w, stderr)
			}
		}
		if strings.Index(stderr, want[0]) > strings.Index(stderr, want[1]) {
			t.Errorf("errors are not in file order:\n%s", stderr)
		}
		if stdout != "" {
			t.Errorf("unexpected stdout: %q", stdout)
		}
	}

	t.Run("config check", func(t *testing.T) {
		stdout, stderr, code := runCmd(t, dir, gatehouseBin, "config", "check", "bad.yaml")
		check(t, stdout, stderr, code)
	})
	t.Run("serve", func(t *testing.T) {
		p := startProcIn(t, dir, "gateway", gatehouseBin, "serve", "--config", "bad.yaml")
		code := p.wait(t)
		check(t, p.stdout.String(), p.log.String(), code)
	})
	t.Run("control: a good config passes", func(t *testing.T) {
		good := strings.Replace(strings.Replace(strings.Join(lines, "\n"), "  pubilc: \"127.0.0.1:1\"\n", "", 1), "10x", "10s", 1)
		if err := os.WriteFile(filepath.Join(dir, "good.yaml"), []byte(good+"\napps: []\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, errOut, code := runCmd(t, dir, gatehouseBin, "config", "check", "good.yaml"); code != 0 || !strings.Contains(out, "good.yaml: OK") {
			t.Fatalf("config check of the corrected file: exit %d, %q %q", code, out, errOut)
		}
	})
}
