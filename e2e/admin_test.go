package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The admin listener of a real gateway: /healthz, /readyz through its
// transitions (not ready while the store is locked at start, ready,
// degraded during a store outage and back), and group health when the
// last connector of a group dies, which never makes the node unready.

// adminGateway is a gateway with listen.admin on a port of its own.
type adminGateway struct {
	*gatewayProc
	admin string // host:port
}

// adminYAML renders base and apps with listen.admin set to admin.
func adminYAML(base gwConfig, apps []appSpec, g *gatewayProc, admin string) string {
	text := specYAML(base, apps, g.public, g.tunnel, g.dataDir)
	return strings.Replace(text, "\ntunnel:\n", fmt.Sprintf("\n  admin: %q\ntunnel:\n", admin), 1)
}

// startAdminGateway starts a gateway for base and apps with an admin
// listener, and the top-level YAML of extra (admin: ...), trying other
// ports should one be taken first.
func startAdminGateway(t testing.TB, base gwConfig, apps []appSpec, extra ...string) *adminGateway {
	t.Helper()
	g := &adminGateway{gatewayProc: newGateway(t, base), admin: freeAddr(t)}
	for attempt := 1; ; attempt++ {
		g.writeConfigText(adminYAML(base, apps, g.gatewayProc, g.admin) + strings.Join(extra, ""))
		g.proc = startProc(t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
		if g.waitStarted() || attempt == 3 {
			break
		}
		t.Logf("gateway ports taken (%s, %s, %s); trying others", g.public, g.tunnel, g.admin)
		g.public, g.tunnel, g.admin = freeAddr(t), freeAddr(t), freeAddr(t)
	}
	g.proc.requireAlive(t)
	return g
}

// adminGet fetches path from the admin listener: status and body, or
// status 0 while nothing answers.
func adminGet(t testing.TB, admin, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + admin + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// readiness is /readyz's answer.
type readiness struct {
	Status   string            `json:"status"`
	Checks   map[string]string `json:"checks"`
	Missing  []string          `json:"missing"`
	Degraded []string          `json:"degraded"`
}

// readyz asks /readyz; code 0 while nothing answers.
func readyz(t testing.TB, admin string) (int, readiness) {
	t.Helper()
	code, body := adminGet(t, admin, "/readyz")
	var r readiness
	if code != 0 {
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("/readyz answered %d with %q: %v", code, body, err)
		}
	}
	return code, r
}

// TestReadyzBeforeStateLoaded: another process holds the store's write
// lock when the gateway starts (as a node migrating the schema would),
// so the gateway cannot load its state: /healthz answers, /readyz is 503
// and names the state as missing. Once the lock is released the node
// becomes ready by itself.
func TestReadyzBeforeStateLoaded(t *testing.T) {
	be := newBackend(t)
	g := newGateway(t, oneApp(be.URL))
	admin := freeAddr(t)
	apps := []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL}}
	g.writeConfigText(adminYAML(gwConfig{Groups: []string{"default"}}, apps, g, admin))
	release := lockStore(t, filepath.Join(g.dataDir, "gatehouse.db"))
	g.proc = startProc(t, "gateway", gatehouseBin, "serve", "--config", g.configPath)

	var r readiness
	var code int
	eventually(t, "/readyz to answer", func() bool {
		g.proc.requireAlive(t)
		code, r = readyz(t, admin)
		return code != 0
	})
	t.Logf("with the store locked: /readyz %d %s, missing %q", code, r.Status, r.Missing)
	if code != http.StatusServiceUnavailable || r.Status != "not ready" ||
		r.Checks["state"] != "not loaded from the store yet" || r.Checks["config"] != "ok" {
		t.Fatalf("/readyz with the store locked: %d %+v; want 503 naming the state", code, r)
	}
	if code, body := adminGet(t, admin, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz with the store locked: %d %q", code, body)
	}
	if code, _ := adminGet(t, admin, "/api/v1/apps"); code != http.StatusServiceUnavailable {
		t.Errorf("/api/v1/apps before the state is loaded: %d, want 503", code)
	}
	release()
	released := time.Now()
	eventually(t, "/readyz to say ready once the store is free", func() bool {
		g.proc.requireAlive(t)
		code, r := readyz(t, admin)
		return code == 200 && r.Status == "ready"
	})
	t.Logf("ready %v after the store was released", time.Since(released).Round(time.Millisecond))
	enrollConnector(t, g, "connector", "default")
	waitServing(t, g.client(false), "https://app.localhost/hit")
}

// lockStore creates the SQLite file at path and holds its write lock
// (BEGIN EXCLUSIVE) until the returned func is called.
func lockStore(t *testing.T, path string) (release func()) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatalf("locking the store: %v", err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return release
}

// TestReadyzStoreOutage: the store turns unwritable under a serving
// gateway (the disk is full for it: RLIMIT_FSIZE of one byte, as in the
// fault suite). /readyz stays 200 and says degraded, with the reason,
// while requests go on; it clears by itself when the store comes back.
func TestReadyzStoreOutage(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skipf("prlimit is not available: %v", err)
	}
	be := newBackend(t)
	g := startAdminGateway(t, gwConfig{Groups: []string{"default"}, Heartbeat: "1s", InactiveAfter: "3s"},
		[]appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL}})
	enrollConnector(t, g.gatewayProc, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")
	eventually(t, "/readyz ready", func() bool { code, r := readyz(t, g.admin); return code == 200 && r.Status == "ready" })

	pid := fmt.Sprint(g.proc.pid())
	limit := func(v string) {
		if out, err := exec.Command("prlimit", "--pid", pid, "--fsize="+v).CombinedOutput(); err != nil {
			t.Fatalf("prlimit --fsize=%s: %v %s", v, err, out)
		}
	}
	limit("1:")
	t.Cleanup(func() { _ = exec.Command("prlimit", "--pid", pid, "--fsize=unlimited:").Run() })
	var r readiness
	eventually(t, "/readyz to report the store degraded", func() bool {
		var code int
		code, r = readyz(t, g.admin)
		if code != 200 && code != 0 {
			t.Fatalf("/readyz during the store outage: %d %+v; want 200 (degraded is still ready)", code, r)
		}
		return r.Status == "degraded"
	})
	if !strings.HasPrefix(r.Checks["store"], "failing since ") || len(r.Degraded) != 1 {
		t.Errorf("/readyz degraded without its reason: %+v", r)
	}
	if s := get(t, c, "https://app.localhost/hit?during=outage"); s.Status != 200 {
		t.Errorf("a request during the store outage: %d", s.Status)
	}
	if _, m := adminGet(t, g.admin, "/metrics"); !strings.Contains(m, "\ngatehouse_store_up 0\n") || !strings.Contains(m, "\ngatehouse_ready 1\n") {
		t.Errorf("metrics during the outage: %s", grepLines(m, "gatehouse_store_up", "gatehouse_ready "))
	}
	g.log().waitLines(t, "the outage logged", 1, "level=WARN", "store unavailable")

	limit("unlimited:")
	eventually(t, "/readyz to clear once the store is back", func() bool {
		code, r := readyz(t, g.admin)
		return code == 200 && r.Status == "ready"
	})
	g.log().waitLines(t, "the recovery logged", 1, "store available again")
}

// TestAdminGroupHealth: a live connector shows its tunnel RTT (measured,
// > 0) and its plug-ins in the admin API, the metrics and the console;
// killing the last connector of a group takes the group down in the
// admin API, the metrics and the console (development mode, no sign-in
// on loopback), and leaves /readyz ready.
func TestAdminGroupHealth(t *testing.T) {
	be := newBackend(t)
	g := startAdminGateway(t, gwConfig{Groups: []string{"default", "spare"}},
		[]appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL}},
		"admin:\n  console:\n    dev_no_signin: true\n")
	conn := enrollConnector(t, g.gatewayProc, "connector", "default")
	waitServing(t, g.client(false), "https://app.localhost/hit")

	group := func() apiGroupSeen {
		t.Helper()
		code, body := adminGet(t, g.admin, "/api/v1/groups")
		var out struct{ Groups []apiGroupSeen }
		if err := json.Unmarshal([]byte(body), &out); code != 200 || err != nil || len(out.Groups) != 2 {
			t.Fatalf("/api/v1/groups: %d %v %s", code, err, body)
		}
		if out.Groups[1].Name != "spare" || out.Groups[1].InUse || out.Groups[1].Up {
			t.Errorf("the unused group: %+v", out.Groups[1])
		}
		return out.Groups[0]
	}
	if gr := group(); gr.Name != "default" || !gr.InUse || !gr.Up || gr.Active != 1 || len(gr.Apps) != 1 {
		t.Fatalf("group with its connector: %+v", gr)
	}
	id := conn.id(t)
	var seen apiConnectorSeen
	eventually(t, "the connector's RTT in /api/v1/connectors", func() bool {
		seen = apiConnectorOf(t, g.admin, id)
		return seen.RTTSeconds > 0
	})
	if seen.State != "active" || seen.Hostname == "" {
		t.Errorf("/api/v1/connectors does not show %s active: %+v", id, seen)
	}
	plugins := seen.pluginNames()
	t.Logf("connector %s: tunnel RTT %.0fµs, plug-ins %v", id, seen.RTTSeconds*1e6, plugins)
	if !slices.Contains(plugins, "header") {
		t.Errorf("/api/v1/connectors: plug-ins %v, want the connector's built-in catalog (header, ...)", plugins)
	}
	_, m := adminGet(t, g.admin, "/metrics")
	for _, want := range []string{`gatehouse_connector_group_up{group="default"} 1`, `gatehouse_tunnel_rtt_seconds{connector="` + id + `",group="default"} `} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics with the connector: no %s in\n%s", want, grepLines(m, "group_up", "rtt"))
		}
	}
	row := cells(consoleRow(t, g.admin, "connectors", `<td class="id">`+id+`</td>`))
	if d, err := time.ParseDuration(strings.ReplaceAll(row[9], "µ", "u")); err != nil || d <= 0 {
		t.Errorf("the console's RTT of %s: %q, want a duration > 0 (row %q)", id, row[9], row)
	}
	t.Logf("the console's RTT cell: %q", row[9])
	if row[10] != strings.Join(plugins, ", ") {
		t.Errorf("the console's plug-ins of %s: %q, want %v", id, row[10], plugins)
	}
	if row := consoleRow(t, g.admin, "groups", `<td class="name">default</td>`); !strings.Contains(row, `class="ok">up<`) {
		t.Errorf("the console shows the group with its connector as: %s", row)
	}

	conn.kill()
	eventually(t, "the group to go down", func() bool { return !group().Up })
	if code, r := readyz(t, g.admin); code != 200 || r.Status != "ready" {
		t.Errorf("/readyz with the group down: %d %+v; want ready (group health is not readiness)", code, r)
	}
	_, m = adminGet(t, g.admin, "/metrics")
	for _, want := range []string{`gatehouse_connector_group_up{group="default"} 0`, `gatehouse_connectors{group="default",state="active"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics with the group down: no %s in\n%s", want, grepLines(m, "gatehouse_connector"))
		}
	}
	if strings.Contains(m, `gatehouse_connector_group_up{group="spare"}`) {
		t.Error("group_up reported for a group no app uses")
	}
	if _, body := adminGet(t, g.admin, "/api/v1/apps"); !strings.Contains(body, `"serving": false`) {
		t.Errorf("/api/v1/apps with the group down: %s", body)
	}
	if row := consoleRow(t, g.admin, "groups", `<td class="name">default</td>`); !strings.Contains(row, `class="bad">DOWN<`) {
		t.Errorf("the console shows the group whose last connector died as: %s", row)
	}
	if row := consoleRow(t, g.admin, "apps", `<td class="name">app</td>`); !strings.Contains(row, "no connector") {
		t.Errorf("the console shows the app of the down group as: %s", row)
	}
}

// apiConnectorSeen is a connector in /api/v1/connectors.
type apiConnectorSeen struct {
	ID         string  `json:"id"`
	State      string  `json:"state"`
	Hostname   string  `json:"hostname"`
	RTTSeconds float64 `json:"rtt_seconds"`
	SignOn     *struct {
		Plugins []struct {
			Name string `json:"name"`
		} `json:"plugins"`
	} `json:"sign_on"`
}

func (c apiConnectorSeen) pluginNames() []string {
	var out []string
	if c.SignOn != nil {
		for _, p := range c.SignOn.Plugins {
			out = append(out, p.Name)
		}
	}
	return out
}

// apiConnectorOf is connector id's entry in /api/v1/connectors.
func apiConnectorOf(t testing.TB, admin, id string) apiConnectorSeen {
	t.Helper()
	code, body := adminGet(t, admin, "/api/v1/connectors")
	var out struct{ Connectors []apiConnectorSeen }
	if err := json.Unmarshal([]byte(body), &out); code != 200 || err != nil {
		t.Fatalf("/api/v1/connectors: %d %v %s", code, err, body)
	}
	for _, c := range out.Connectors {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("/api/v1/connectors does not list %s: %s", id, body)
	return apiConnectorSeen{}
}

// cells returns the text of each <td> of an HTML table row (no nested
// elements but those the console puts in cells, which are dropped).
func cells(row string) []string {
	var out []string
	for _, c := range strings.Split(row, "<td")[1:] {
		c = c[strings.Index(c, ">")+1:]
		c = c[:strings.Index(c, "</td>")]
		out = append(out, html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(c, "")))
	}
	return out
}

// consoleRow fetches the console page (development mode) and returns the
// table row of its section that holds cell.
func consoleRow(t testing.TB, admin, section, cell string) string {
	t.Helper()
	code, page := adminGet(t, admin, "/")
	if code != 200 {
		t.Fatalf("the console: %d %s", code, page)
	}
	i := strings.Index(page, `<section id="`+section+`">`)
	if i < 0 {
		t.Fatalf("the console has no %s section:\n%s", section, page)
	}
	sec := page[i : i+strings.Index(page[i:], "</section>")]
	j := strings.Index(sec, cell)
	if j < 0 {
		t.Fatalf("the console's %s section has no %s:\n%s", section, cell, sec)
	}
	return sec[strings.LastIndex(sec[:j], "<tr") : j+strings.Index(sec[j:], "</tr>")]
}

// apiGroupSeen is a group in /api/v1/groups.
type apiGroupSeen struct {
	Name   string   `json:"name"`
	Apps   []string `json:"apps"`
	InUse  bool     `json:"in_use"`
	Up     bool     `json:"up"`
	Active int      `json:"active"`
}

// grepLines returns the lines of s that contain one of subs.
func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
