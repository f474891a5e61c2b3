package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// updateKit is what the connector update tests share, built once: the
// connector at three versions (v3 exits at start), two release keys and
// the signed releases.
type updateKit struct {
	dir           string
	bins          map[string]string // version -> binary
	pub, otherPub string            // release public keys
	key, otherKey string            // their private key files
	releaseFiles  map[string]string // name -> release file from 'gatehouse release sign'
	buildErr      string
}

var (
	kitOnce sync.Once
	kit     updateKit
)

// badConnector is a "connector" that cannot start.
const badConnector = `package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "gatehouse-connector v3.0.0: broken build: cannot start")
	os.Exit(1)
}
`

// updateKitFor builds the kit on first use, under the directory TestMain
// removes at the end of the run.
func updateKitFor(t *testing.T) *updateKit {
	t.Helper()
	kitOnce.Do(func() { kit.buildErr = buildUpdateKit(t) })
	if kit.buildErr != "" {
		t.Fatal(kit.buildErr)
	}
	return &kit
}

func buildUpdateKit(t *testing.T) string {
	kit.dir = filepath.Join(filepath.Dir(connectorBin), "update-kit")
	kit.bins = map[string]string{}
	kit.releaseFiles = map[string]string{}
	for _, v := range []string{"v1.0.0", "v2.0.0"} {
		out := filepath.Join(kit.dir, v, "gatehouse-connector")
		if msg := goBuild(moduleRoot, nil, "-ldflags", "-X main.version="+v, "-o", out, "./cmd/gatehouse-connector"); msg != "" {
			return msg
		}
		kit.bins[v] = out
	}
	src := filepath.Join(kit.dir, "bad-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err.Error()
	}
	_ = os.WriteFile(filepath.Join(src, "go.mod"), []byte("module badconnector\n\ngo 1.22\n"), 0o644)
	_ = os.WriteFile(filepath.Join(src, "main.go"), []byte(badConnector), 0o644)
	kit.bins["v3.0.0"] = filepath.Join(kit.dir, "v3.0.0", "gatehouse-connector")
	if msg := goBuild(src, []string{"GOWORK=off", "GOFLAGS=-mod=mod"}, "-o", kit.bins["v3.0.0"], "."); msg != "" {
		return msg
	}
	var code int
	kit.key, kit.otherKey = filepath.Join(kit.dir, "release.key"), filepath.Join(kit.dir, "other.key")
	for _, k := range []struct {
		file string
		pub  *string
	}{{kit.key, &kit.pub}, {kit.otherKey, &kit.otherPub}} {
		var errOut string
		*k.pub, errOut, code = runCmd(t, kit.dir, gatehouseBin, "release", "keygen", "--out", k.file)
		*k.pub = strings.TrimSpace(*k.pub)
		if code != 0 {
			return "release keygen: " + errOut
		}
	}
	// name, key, binary, version in the manifest
	for _, r := range [][4]string{
		{"v2", kit.key, "v2.0.0", "v2.0.0"},
		{"v3-bad", kit.key, "v3.0.0", "v3.0.0"},
		{"v0.9-downgrade", kit.key, "v1.0.0", "v0.9.0"},
		{"v5-sha", kit.key, "v2.0.0", "v5.0.0"},           // added with the v1 binary
		{"v4-otherkey", kit.otherKey, "v2.0.0", "v4.0.0"}, // not the trusted key
	} {
		out := filepath.Join(kit.dir, r[0]+".release")
		_, errOut, code := runCmd(t, kit.dir, gatehouseBin, "release", "sign", "--key", r[1],
			"--binary", kit.bins[r[2]], "--version", r[3], "--out", out)
		if code != 0 {
			return "release sign " + r[0] + ": " + errOut
		}
		kit.releaseFiles[r[0]] = out
	}
	return ""
}

// goBuild runs "go build args..." in dir; it returns the error text.
func goBuild(dir string, env []string, args ...string) string {
	cmd := exec.Command(goTool(), append([]string{"build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Sprintf("go build %v: %v\n%s", args, err, out)
	}
	return ""
}

// updateSetup is a gateway that trusts the kit's key, with group
// "default" (updates as given) serving app.localhost, and connectors
// started from the v1 binary.
type updateSetup struct {
	kit  *updateKit
	g    *gatewayProc
	be   *backend
	cons []*connectorProc
	ids  []string
	args [][]string // each connector's arguments (after --state), for a restart
}

// updateGatewayYAML is the usual one-app config with JSON logs, the
// release key and the group's updates block.
func updateGatewayYAML(k *updateKit, g *gatewayProc, beURL, updates string) string {
	c := oneApp(beURL)
	c.Heartbeat, c.InactiveAfter = "1s", "3s"
	y := c.yaml(g.public, g.tunnel, g.dataDir)
	y = strings.Replace(y, "log:\n  level: info\n", "log:\n  level: info\n  format: json\nrelease:\n  public_key: "+k.pub+"\n", 1)
	return strings.Replace(y, "  - name: default\n", "  - name: default\n    updates:\n"+updates, 1)
}

func startUpdateSetup(t *testing.T, n int, updates string) *updateSetup {
	t.Helper()
	s := &updateSetup{kit: updateKitFor(t), be: newBackend(t)}
	s.g = newGateway(t, oneApp(s.be.URL))
	for attempt := 1; ; attempt++ {
		s.g.writeConfigText(updateGatewayYAML(s.kit, s.g, s.be.URL, updates))
		s.g.proc = startProc(t, "gateway", gatehouseBin, "serve", "--config", s.g.configPath)
		if s.g.waitStarted() || attempt == 3 {
			break
		}
		s.g.public, s.g.tunnel = freeAddr(t), freeAddr(t)
	}
	s.g.proc.requireAlive(t)
	for i := range n {
		name := fmt.Sprintf("connector-%d", i+1)
		args := []string{"--token", s.g.token("default", "1h")}
		state := filepath.Join(t.TempDir(), name)
		c := &connectorProc{proc: startProc(t, name, s.kit.bins["v1.0.0"], append([]string{"--state", state}, args...)...), state: state}
		c.waitReady(t, 2)
		s.cons, s.args, s.ids = append(s.cons, c), append(s.args, args), append(s.ids, c.id(t))
	}
	eventually(t, "every connector on v1.0.0 with a ready session", func() bool {
		return s.allOn("v1.0.0")
	})
	waitServing(t, s.g.client(false), "https://app.localhost/hit")
	return s
}

// restart starts connector i again as systemd would: same binary, same
// arguments, same state directory.
func (s *updateSetup) restart(t *testing.T, i int) {
	t.Helper()
	old := s.cons[i]
	c := &connectorProc{proc: startProc(t, old.name+"-restarted", s.kit.bins["v1.0.0"],
		append([]string{"--state", old.state}, s.args[i]...)...), state: old.state}
	s.cons[i] = c
}

// cliConnector is one connector of 'gatehouse connectors --json'.
type cliConnector struct {
	ID, Version, Status string
	Update              *struct{ State, Phase, Version, Error string }
}

func (s *updateSetup) connectorsJSON(t *testing.T) map[string]cliConnector {
	t.Helper()
	out, errOut, code := runCmd(t, s.g.dir, gatehouseBin, "connectors", "--json", "--config", s.g.configPath)
	if code != 0 {
		t.Fatalf("gatehouse connectors --json exited %d: %s", code, errOut)
	}
	var v struct{ Connectors []cliConnector }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("gatehouse connectors --json: %v\n%s", err, out)
	}
	m := map[string]cliConnector{}
	for _, c := range v.Connectors {
		m[c.ID] = c
	}
	return m
}

// allOn reports whether the gateway holds a ready session of every
// connector, each with version v (its hello).
func (s *updateSetup) allOn(v string) bool {
	for _, id := range s.ids {
		if len(s.g.log().lines(`"connector session ready"`, id)) == 0 {
			return false
		}
	}
	for _, id := range s.ids {
		if s.sessionVersion(id) != v {
			return false
		}
	}
	return true
}

// sessionVersion is the version of the latest ready session of id in
// the gateway log ("" when it logs none).
func (s *updateSetup) sessionVersion(id string) string {
	v := ""
	for _, l := range s.g.log().lines(`"connector session ready"`, id) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			if s, ok := m["version"].(string); ok {
				v = s
			}
		}
	}
	return v
}

// rolloutStep is one "rollout" line of the gateway's JSON log.
type rolloutStep struct {
	Time                                time.Time
	Group, Connector, Phase, Version, E string
}

func (s *updateSetup) steps() []rolloutStep {
	var out []rolloutStep
	sc := bufio.NewScanner(strings.NewReader(s.g.log().String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m struct {
			Time                                         time.Time
			Msg, Group, Connector, Phase, Version, Error string
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.Msg != "rollout" {
			continue
		}
		out = append(out, rolloutStep{m.Time, m.Group, m.Connector, m.Phase, m.Version, m.Error})
	}
	return out
}

// waitStep waits for a rollout line of connector (any when "") in phase.
func (s *updateSetup) waitStep(t *testing.T, connector, phase string) rolloutStep {
	t.Helper()
	var got rolloutStep
	eventuallyWithin(t, 3*waitFor, fmt.Sprintf("rollout phase %q of %q", phase, connector), func() bool {
		for _, st := range s.steps() {
			if st.Phase == phase && (connector == "" || st.Connector == connector) {
				got = st
				return true
			}
		}
		return false
	})
	return got
}

// releasesDirEntries lists <state>/releases (nil when there is none).
func releasesDirEntries(t *testing.T, state string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(state, "releases"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// exeOf is the binary process pid runs.
func exeOf(t *testing.T, pid int) string {
	t.Helper()
	p, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatalf("reading the binary of pid %d: %v", pid, err)
	}
	return p
}
