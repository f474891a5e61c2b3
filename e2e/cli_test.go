package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckLoadsWASMFilters: 'gatehouse config check' loads every
// WASM filter step with its config, as the gateway would. A config the
// module refuses (pathfilter panics on a relative deny pattern) fails the
// check with exit 1 and the file and line of that step; the same file
// with the step fixed passes.
func TestConfigCheckLoadsWASMFilters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(deny string) (string, int) {
		head := filterCatalog(t) + "connector_groups:\n  - name: default\napps:\n" +
			"  - name: app\n    host: app.localhost\n    group: default\n    auth: passthrough\n" +
			"    backend:\n      url: http://127.0.0.1:9\n    filters:\n" +
			"      - {filter: securityheaders, config: {}}\n"
		line := strings.Count(head, "\n") + 1 // the step below
		text := head + fmt.Sprintf("      - filter: pathfilter\n        config: {deny: [%q]}\n", deny)
		file := filepath.Join(dir, "gatehouse.yaml")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return file, line
	}

	file, line := write("relative/path")
	out, errOut, code := runCmd(t, dir, gatehouseBin, "config", "check", file)
	at := fmt.Sprintf("%s:%d: apps[0].filters[1] (filter \"pathfilter\")", file, line)
	if code != 1 || !strings.Contains(errOut, at) {
		t.Fatalf("config check of a filter config the module refuses exited %d; want 1 and %q in:\n%s%s", code, at, out, errOut)
	}
	if strings.Contains(errOut, "filters[0]") {
		t.Errorf("the good step was reported too:\n%s", errOut)
	}

	file, _ = write("/admin")
	out, errOut, code = runCmd(t, dir, gatehouseBin, "config", "check", file)
	if code != 0 || !strings.Contains(out, "2 WASM filter steps loaded") {
		t.Fatalf("config check of a good filter config exited %d:\n%s%s", code, out, errOut)
	}
}

// TestCLIStatus: 'gatehouse status' reads the running gateway's admin API
// (listen.admin of its config): the config's hash and when it was
// applied, the apps, the connectors and the certificates; with --json,
// one document. With the gateway stopped it exits 1 and says so.
func TestCLIStatus(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	ag := startAdminGateway(t, gwConfig{Groups: []string{"default"}},
		[]appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL}})
	g, admin := ag.gatewayProc, ag.admin
	a := enrollConnector(t, g, "connector-a", "default")
	aID := a.id(t)
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit") // a handshake: the served certificate is recorded

	out, errOut, code := runCmd(t, g.dir, gatehouseBin, "status", "--config", g.configPath)
	if code != 0 {
		t.Fatalf("status exited %d: %s", code, errOut)
	}
	for _, want := range []string{"config  " + g.configPath, "sha256 ", "applied ", "app.localhost", aID, "CERTIFICATE"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	out, errOut, code = runCmd(t, g.dir, gatehouseBin, "status", "--json", "--admin", admin)
	var doc struct {
		Status struct {
			ConfigSHA256 string `json:"config_sha256"`
			AppliedAt    string `json:"config_applied_at"`
			Certificates []struct {
				Host string `json:"host"`
			} `json:"certificates"`
		} `json:"status"`
		Apps []struct {
			Name    string `json:"name"`
			Serving bool   `json:"serving"`
		} `json:"apps"`
		Connectors []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"connectors"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("status --json exited %d (%s), output:\n%s", code, errOut, out)
	}
	if len(doc.Status.ConfigSHA256) != 64 || doc.Status.AppliedAt == "" || len(doc.Apps) != 1 || !doc.Apps[0].Serving ||
		len(doc.Connectors) != 1 || doc.Connectors[0].ID != aID || doc.Connectors[0].State != "active" {
		t.Errorf("status --json = %s", out)
	}
	if !strings.Contains(out, "app.localhost") || len(doc.Status.Certificates) == 0 {
		t.Errorf("status --json names no certificate for app.localhost:\n%s", out)
	}

	g.stop()
	_, errOut, code = runCmd(t, g.dir, gatehouseBin, "status", "--config", g.configPath)
	if code != 1 || !strings.Contains(errOut, "cannot reach the gateway's admin API") {
		t.Errorf("status with the gateway stopped exited %d: %s", code, errOut)
	}
}
