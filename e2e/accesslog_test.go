package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// jsonLines parses every line of a JSON log; a line that is not JSON
// fails the test.
func jsonLines(t testing.TB, who, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(log, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s log line is not JSON (%v): %q", who, err, l)
		}
		out = append(out, m)
	}
	return out
}

// accessByID returns the access lines ("msg":"access") of a JSON log by
// request id.
func accessByID(t testing.TB, who, log string) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, m := range jsonLines(t, who, log) {
		if m["msg"] == "access" {
			id, _ := m["request_id"].(string)
			out[id] = append(out[id], m)
		}
	}
	return out
}

// startJSONGateway starts a gateway for base and apps with log.format
// json, edited by edit, trying other ports should one be taken first.
func startJSONGateway(t testing.TB, base gwConfig, apps []appSpec, edit func(string) string) *gatewayProc {
	t.Helper()
	g := newGateway(t, base)
	for attempt := 1; ; attempt++ {
		text := specYAML(base, apps, g.public, g.tunnel, g.dataDir)
		text = strings.Replace(text, "log:\n  level: info\n", "log:\n  level: info\n  format: json\n", 1)
		g.writeConfigText(edit(text))
		g.proc = startProc(t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
		if g.waitStarted() || attempt == 3 {
			break
		}
		g.public, g.tunnel = freeAddr(t), freeAddr(t)
	}
	g.proc.requireAlive(t)
	return g
}

// startJSONConnector enrolls a connector that logs JSON and waits for its
// two tunnels.
func startJSONConnector(t testing.TB, g *gatewayProc, name, group string, args ...string) *connectorProc {
	t.Helper()
	args = append([]string{"--token", g.token(group, "1h"), "--log-format", "json"}, args...)
	c := startConnector(t, name, filepath.Join(t.TempDir(), name), args...)
	eventually(t, name+" tunnels to be ready", func() bool {
		c.requireAlive(t)
		return c.log.Count(`"msg":"tunnel ready"`) >= 2
	})
	return c
}

// TestAccessLog: with log.format json at the gateway and --log-format
// json at the connector, every request through them has exactly one
// access line at each, with the same request id (the one in the
// response's X-Request-Id, not the client's); every line of both logs
// parses as JSON; paths carry no query; an app with access_log: false
// has no access lines at either.
func TestAccessLog(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok %s", r.URL.Path)
	}))
	defer be.Close()
	base := gwConfig{Groups: []string{"default"}}
	apps := []appSpec{
		{Name: "demo", Host: "demo.localhost", Group: "default", URL: be.URL},
		{Name: "quiet", Host: "quiet.localhost", Group: "default", URL: be.URL},
	}
	g := startJSONGateway(t, base, apps, func(s string) string {
		return strings.Replace(s, "  - name: quiet\n", "  - name: quiet\n    access_log: false\n", 1)
	})
	conn := startJSONConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://demo.localhost/warm")
	waitServing(t, c, "https://quiet.localhost/warm")

	const n = 20
	ids := map[string]bool{}
	for i := range n {
		r := getWith(t, c, fmt.Sprintf("https://demo.localhost/page/%d?token=secret%d", i, i), "X-Request-Id", "client-chosen")
		if r.Status != 200 {
			t.Fatalf("GET %d: %d %s", i, r.Status, r.Body)
		}
		id := r.Header.Get("X-Request-Id")
		if id == "" || id == "client-chosen" || ids[id] {
			t.Fatalf("request %d: X-Request-Id %q: want a fresh id of the gateway's", i, id)
		}
		ids[id] = true
		if r := get(t, c, fmt.Sprintf("https://quiet.localhost/q/%d", i)); r.Status != 200 {
			t.Fatalf("quiet GET %d: %d", i, r.Status)
		}
	}
	// Access lines are written in batches (internal/linebuf), and the
	// connector's after the response's last byte: they can come a moment
	// after the client has its answer.
	eventually(t, "the access lines", func() bool {
		gw, cn := accessByID(t, "gateway", g.proc.log.String()), accessByID(t, "connector", conn.log.String())
		for id := range ids {
			if len(gw[id]) == 0 || len(cn[id]) == 0 {
				return false
			}
		}
		return true
	})
	gw := accessByID(t, "gateway", g.proc.log.String())
	cn := accessByID(t, "connector", conn.log.String())
	for id := range ids {
		if len(gw[id]) != 1 || len(cn[id]) != 1 {
			t.Fatalf("request %s: %d gateway and %d connector access lines, want 1 and 1", id, len(gw[id]), len(cn[id]))
		}
		gl, cl := gw[id][0], cn[id][0]
		path, _ := gl["path"].(string)
		if gl["app"] != "demo" || gl["host"] != "demo.localhost" || gl["method"] != "GET" || gl["status"] != 200.0 ||
			!strings.HasPrefix(path, "/page/") || gl["connector"] != conn.id(t) || gl["client_ip"] != "127.0.0.1" {
			t.Errorf("gateway access line %v", gl)
		}
		if cl["app"] != "demo" || cl["path"] != path || cl["status"] != 200.0 || cl["connector"] != conn.id(t) {
			t.Errorf("connector access line %v (gateway's path %q)", cl, path)
		}
	}
	t.Logf("%d requests: one access line each at the gateway (%d lines) and the connector (%d lines)", len(ids), len(gw), len(cn))
	for who, log := range map[string]string{"gateway": g.proc.log.String(), "connector": conn.log.String()} {
		if strings.Contains(log, "token=secret") {
			t.Errorf("the %s log has a query string", who)
		}
		for _, lines := range accessByID(t, who, log) {
			for _, l := range lines {
				if l["app"] == "quiet" {
					t.Errorf("%s: access line for the quiet app: %v", who, l)
				}
			}
		}
	}
	for id, lines := range gw {
		if p, _ := lines[0]["path"].(string); strings.HasPrefix(p, "/page/") && !ids[id] {
			t.Errorf("gateway access line with a request id no response carried: %v", lines[0])
		}
	}
}
