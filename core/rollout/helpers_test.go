package rollout

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/core/tunnelserver"
	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
)

// simHub stands for the tunnel hub: connectors that answer an update the
// way a connector does (status reports, then back on the new version), or
// fail as told. It checks the rollout's rules as updates arrive.
type simHub struct {
	t  *testing.T
	o  *Orchestrator
	mu sync.Mutex
	cs map[string]*simConn
	// updating counts connectors between an update sent and their return;
	// maxUpdating is its peak; alone counts updates sent while no other
	// connector of the group was ready.
	updating, maxUpdating, alone int
	sent                         []string // "id→version", in order
}

type simConn struct {
	group, version string
	ready          bool
	fail           string // the phase it fails with; "hang": never comes back
}

func (h *simHub) add(id, group, version string) *simConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cs == nil {
		h.cs = map[string]*simConn{}
	}
	c := &simConn{group: group, version: version, ready: true}
	h.cs[id] = c
	return c
}

func (h *simHub) Live() []tunnelserver.LiveSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []tunnelserver.LiveSession
	for id, c := range h.cs {
		out = append(out, tunnelserver.LiveSession{Connector: id, Group: c.group, Version: c.version,
			OS: "linux", Arch: "amd64", Ready: c.ready})
	}
	return out
}

func (h *simHub) SendUpdate(id string, u tunnel.Update) error {
	m, err := release.Verify(signKey.Public().(ed25519.PublicKey), u.Chain, u.Release)
	if err != nil {
		h.t.Errorf("the update sent to %s does not verify: %v", id, err)
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.cs[id]
	peers := 0
	for oid, oc := range h.cs {
		if oid != id && oc.group == c.group && oc.ready {
			peers++
		}
	}
	if peers == 0 {
		h.alone++
	}
	h.updating++
	h.maxUpdating = max(h.maxUpdating, h.updating)
	h.sent = append(h.sent, id+"→"+m.Version)
	go h.play(id, c, m.Version)
	return nil
}

// play is the connector's side of one update.
func (h *simHub) play(id string, c *simConn, version string) {
	for _, phase := range []string{tunnel.PhaseDownloading, tunnel.PhaseTrial, tunnel.PhaseSwapping} {
		h.o.Status(id, c.group, tunnel.UpdateStatus{Version: version, Phase: phase})
	}
	h.mu.Lock()
	fail := c.fail
	h.mu.Unlock()
	switch fail {
	case "hang":
		h.mu.Lock()
		c.ready = false
		h.mu.Unlock()
		return
	case "":
	default:
		h.mu.Lock()
		h.updating--
		h.mu.Unlock()
		h.o.Status(id, c.group, tunnel.UpdateStatus{Version: version, Phase: fail, Error: "exit status 3"})
		return
	}
	h.mu.Lock()
	c.ready = false
	h.mu.Unlock()
	h.o.Status(id, c.group, tunnel.UpdateStatus{Version: version, Phase: tunnel.PhaseRestarting})
	h.mu.Lock()
	c.version, c.ready = version, true
	h.updating--
	h.mu.Unlock()
}

func (h *simHub) versions() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for id, c := range h.cs {
		out[id] = c.version
	}
	return out
}

var signKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))

func putRelease(t *testing.T, st store.Store, version string) {
	t.Helper()
	bin := []byte("connector binary " + version)
	sum := sha256.Sum256(bin)
	r, err := release.Sign(signKey, release.Manifest{Version: version, OS: "linux", Arch: "amd64",
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(bin))})
	if err != nil {
		t.Fatal(err)
	}
	if err := releases.Put(t.Context(), st, r, bin); err != nil {
		t.Fatal(err)
	}
}

// setup returns an orchestrator on a real SQLite store with the group
// "g" (updates u), a simulated hub, and its log lines.
func setup(t *testing.T, u config.Updates) (*Orchestrator, *simHub, *logLines) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if u.Policy == "" {
		u.Policy = config.UpdateAuto
	}
	cfg := &config.Config{ConnectorGroups: []config.ConnectorGroup{{Name: "g", Updates: u}}}
	logs := &logLines{}
	hub := &simHub{t: t}
	o := &Orchestrator{Store: st, Hub: hub, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Owner: "node-1",
		Config: func() *config.Config { return cfg }, Deadline: 20 * time.Second}
	hub.o = o
	o.init()
	return o, hub, logs
}

// pass runs one check of group g and waits for it to end.
func (o *Orchestrator) passOnce(t *testing.T) {
	t.Helper()
	o.Check(t.Context())
	o.wg.Wait()
}

// logLines collects the JSON log lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// steps returns the "rollout" lines as "connector:phase:version".
func (l *logLines) steps(t *testing.T) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "rollout" {
			out = append(out, fmt.Sprintf("%v:%v:%v", m["connector"], m["phase"], m["version"]))
		}
	}
	return out
}
