package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// tool finds a command the tests need, or skips (make tools installs it).
func tool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (Debian package %s; 'make tools' installs it): cannot check the files with it", name, debianPackage)
	}
	return p
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

// binaries builds gatehouse and gatehouse-connector once, into a
// directory that outlives the tests of this package run.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "gatehouse-deploy-bin-"); buildErr != nil {
			return
		}
		goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
		if p, err := exec.LookPath("go"); err == nil {
			goCmd = p
		}
		cmd := exec.Command(goCmd, "build", "-o", binDir+string(filepath.Separator), "./cmd/gatehouse", "./cmd/gatehouse-connector")
		cmd.Dir = ".."
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building the binaries: %v\n%s", buildErr, buildOut)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var units = []string{"gatehouse.service", "gatehouse-connector.service"}

// installed writes unit (its text edited by edit, if given) to a temp
// directory with its /usr/local/bin/ paths pointing at the built
// binaries, which systemd-analyze verify requires to exist.
func installed(t *testing.T, unit string, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("systemd", unit))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.Contains(text, "ExecStart=/usr/local/bin/") {
		t.Fatalf("%s: ExecStart does not start /usr/local/bin/...", unit)
	}
	text = strings.ReplaceAll(text, "/usr/local/bin/", binaries(t)+"/")
	if edit != nil {
		text = edit(text)
	}
	path := filepath.Join(t.TempDir(), unit)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// verify runs systemd-analyze verify on path and returns its complaints
// about the unit: a failed exit, and every line that names the unit,
// since an unknown key or a bad value is only a warning ("ignoring") that
// leaves the exit code 0.
func verify(t *testing.T, analyze, path string) []string {
	t.Helper()
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	var problems []string
	if err != nil {
		problems = append(problems, "exit: "+err.Error())
	}
	base := filepath.Base(path)
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, base) {
			problems = append(problems, strings.TrimSpace(line))
		} else if strings.TrimSpace(line) != "" {
			t.Logf("systemd-analyze (not about %s): %s", base, strings.TrimSpace(line))
		}
	}
	return problems
}

// Both units pass systemd-analyze verify without a warning, and verify
// catches the mistakes it should: a misspelled key, a bad value, a
// misspelled section and a missing binary.
func TestSystemdVerify(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	for _, unit := range units {
		if problems := verify(t, analyze, installed(t, unit, nil)); len(problems) > 0 {
			t.Errorf("systemd-analyze verify %s:\n%s", unit, strings.Join(problems, "\n"))
		}
	}
	for name, edit := range map[string]func(string) string{
		"misspelled key":     func(s string) string { return strings.Replace(s, "ProtectSystem=strict", "ProtectSytem=strict", 1) },
		"bad value":          func(s string) string { return strings.Replace(s, "ProtectSystem=strict", "ProtectSystem=strictly", 1) },
		"misspelled section": func(s string) string { return strings.Replace(s, "[Service]", "[Servce]", 1) },
		"missing binary": func(s string) string {
			return regexp.MustCompile(`ExecStart=\S+`).ReplaceAllString(s, "ExecStart=/nonexistent/gatehouse")
		},
	} {
		for _, unit := range units {
			if problems := verify(t, analyze, installed(t, unit, edit)); len(problems) == 0 {
				t.Errorf("%s with a %s: systemd-analyze verify found nothing", unit, name)
			}
		}
	}
}

// securityLine is systemd-analyze security's verdict line.
var securityLine = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// maxExposure is the highest exposure score (0 best, 10 worst) either
// unit may have; they scored 1.5 (gateway) and 1.2 (connector) with
// systemd 252.
const maxExposure = 2.0

// systemd-analyze security rates each unit's sandbox offline; both stay
// at or below maxExposure.
func TestSystemdSecurityExposure(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	for _, unit := range units {
		out, err := exec.Command(analyze, "security", "--offline=yes", "--no-pager", installed(t, unit, nil)).CombinedOutput()
		m := securityLine.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			t.Fatalf("systemd-analyze security %s: %v\n%s", unit, err, out)
		}
		score, _ := strconv.ParseFloat(m[1], 64)
		t.Logf("%s: exposure %.1f", unit, score)
		if score > maxExposure {
			t.Errorf("%s: exposure %.1f, above %.1f:\n%s", unit, score, maxExposure, out)
		}
	}
}

// The system users the units run as are those the sysusers file creates.
func TestSysusers(t *testing.T) {
	sysusers := tool(t, "systemd-sysusers", "systemd")
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(file string) (string, error) {
		file, err := filepath.Abs(file)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sysusers, "--root="+root, "--dry-run", file).CombinedOutput()
		return string(out), err
	}
	out, err := run(filepath.Join("systemd", "gatehouse.sysusers"))
	if err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	for _, unit := range units {
		user := unitKeys(t, unit)["User"][0]
		if !strings.Contains(out, "Creating user '"+user+"'") {
			t.Errorf("%s runs as %s, which gatehouse.sysusers does not create:\n%s", unit, user, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.sysusers")
	if err := os.WriteFile(bad, []byte("u gatehouse - \"x\" /var/lib/gatehouse\nx typo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(bad); err == nil {
		t.Fatalf("systemd-sysusers accepted a bad line:\n%s", out)
	}
}

// unitKeys reads a unit's [Service] settings: every value of each key, in
// order ("Key=" with nothing after it is an empty value).
func unitKeys(t *testing.T, unit string) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("systemd", unit))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, v, _ := strings.Cut(line, "=")
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// The hardening the units promise (deploy/README.md), and what the
// binaries need, in one place: if one changes, this says which promise
// broke.
func TestUnitHardening(t *testing.T) {
	want := map[string]string{
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
		"LockPersonality": "yes", "Restart": "on-failure", "KillMode": "mixed", "UMask": "0077",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "StateDirectoryMode": "0700",
	}
	perUnit := map[string]map[string]string{
		"gatehouse.service": {
			"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE", "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
			"MemoryDenyWriteExecute": "no", // wazero maps compiled WASM executable
			"User":                   "gatehouse", "StateDirectory": "gatehouse",
		},
		"gatehouse-connector.service": {
			"CapabilityBoundingSet": "", "AmbientCapabilities": "", // it never listens
			"MemoryDenyWriteExecute": "yes", "PrivateUsers": "yes",
			"User": "gatehouse-connector", "StateDirectory": "gatehouse-connector",
		},
	}
	for _, unit := range units {
		keys := unitKeys(t, unit)
		for k, v := range perUnit[unit] {
			want[k] = v
		}
		for k, v := range want {
			if got := keys[k]; !slices.Equal(got, []string{v}) {
				t.Errorf("%s: %s=%q, want %q", unit, k, got, v)
			}
		}
		if _, ok := keys["DynamicUser"]; ok {
			t.Errorf("%s sets DynamicUser; the operator commands need a fixed user", unit)
		}
		if !slices.Contains(keys["SystemCallFilter"], "@system-service") {
			t.Errorf("%s: SystemCallFilter=%q lacks @system-service", unit, keys["SystemCallFilter"])
		}
	}

	gw, conn := unitKeys(t, "gatehouse.service"), unitKeys(t, "gatehouse-connector.service")
	// ExecReload sends SIGHUP: the gateway must reload on it.
	serve, err := os.ReadFile(filepath.Join("..", "cmd", "gatehouse", "serve.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(gw["ExecReload"], "/bin/kill -HUP $MAINPID") || !strings.Contains(string(serve), "syscall.SIGHUP") {
		t.Errorf("gatehouse.service reloads with %q; cmd/gatehouse/serve.go handles SIGHUP: %v",
			gw["ExecReload"], strings.Contains(string(serve), "syscall.SIGHUP"))
	}
	if _, ok := conn["ExecReload"]; ok {
		t.Error("gatehouse-connector.service has ExecReload; the connector does not reload on a signal")
	}
	// systemd must wait longer than the connector drains.
	m := regexp.MustCompile(`--drain-timeout (\S+)`).FindStringSubmatch(conn["ExecStart"][0])
	if m == nil {
		t.Fatalf("gatehouse-connector.service: ExecStart sets no --drain-timeout: %q", conn["ExecStart"])
	}
	drain, err1 := time.ParseDuration(m[1])
	stop, err2 := time.ParseDuration(conn["TimeoutStopSec"][0])
	if err1 != nil || err2 != nil || stop < drain+10*time.Second {
		t.Errorf("gatehouse-connector.service: TimeoutStopSec=%s for a --drain-timeout of %s; want at least 10s more (%v, %v)",
			conn["TimeoutStopSec"], m[1], err1, err2)
	}
}
