package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMetricsPrometheus: a real Prometheus server (Debian's package,
// scripts/install-prometheus.sh) scrapes a real gateway's admin listener
// every second. Through Prometheus's HTTP API the test sees the demo
// app's request counter rise after traffic, a sign-in denial counted
// with its reason (an access policy refusing bob), and the group going
// down when its last connector is killed.
func TestMetricsPrometheus(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (make tools runs scripts/install-prometheus.sh)")
	}
	be := newBackend(t)
	ident := newIdentityBackend(t, "x")
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startAdminGateway(t, base, []appSpec{
		{Name: "demo", Host: "demo.localhost", Group: "default", URL: be.URL},
		{Name: "hr", Host: "hr.localhost", Group: "default", URL: ident.URL, Access: "{groups: [hr]}",
			Auth: fmt.Sprintf("{plugin: apikeys, config: {keys: [%s]}}", keyEntry("k-bob", "bob", "staff"))},
	})
	conn := enrollConnector(t, g.gatewayProc, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://demo.localhost/hit")

	prom := startPrometheus(t, promBin, g.admin)
	prom.wait(t, `up{job="gatehouse"} == 1`, 1, "Prometheus to scrape the gateway")
	prom.wait(t, fmt.Sprintf(`gatehouse_tunnel_sessions_opened_total{connector=%q,group="default"}`, conn.id(t)), 2, "the connector's two tunnel sessions")
	before := prom.value(t, `sum(gatehouse_requests_total{app="demo",method="GET",code="2xx"})`)
	const n = 25
	for i := range n {
		if r := get(t, c, fmt.Sprintf("https://demo.localhost/hit?i=%d", i)); r.Status != 200 {
			t.Fatalf("GET %d: %d", i, r.Status)
		}
	}
	prom.wait(t, `sum(gatehouse_requests_total{app="demo",method="GET",code="2xx"})`, before+n, "the demo app's requests to rise")
	prom.wait(t, `sum(gatehouse_request_backend_seconds_count{app="demo"})`, before+n, "the demo app's backend latency to be observed")

	requireErrorPage(t, getWith(t, c, "https://hr.localhost/", "X-Api-Key", "k-bob"), http.StatusForbidden, "Access denied")
	prom.wait(t, `gatehouse_signin_denials_total{app="hr",reason="access.groups"}`, 1, "bob's denial counted with its reason")
	prom.wait(t, `gatehouse_signins_total{app="hr",result="denied"}`, 1, "bob's denial counted among the sign-ins")
	prom.wait(t, `gatehouse_plugin_calls_total{plugin="apikeys",app="hr",method="Authenticate",result="ok"}`, 1, "the plug-in call counted")

	prom.wait(t, `gatehouse_connector_group_up{group="default"}`, 1, "the group up")
	conn.kill()
	prom.waitBelow(t, `gatehouse_connector_group_up{group="default"}`, 1, "the group down after its last connector died")
	if code, r := readyz(t, g.admin); code != 200 || r.Status != "ready" {
		t.Errorf("/readyz with the group down: %d %+v", code, r)
	}
}

// keyEntry is a key of the custom-SSO example plug-in's config.
func keyEntry(key, subject, groups string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("{sha256: %s, subject: %s, groups: [%s]}", hex.EncodeToString(sum[:]), subject, groups)
}

// prometheus is a Prometheus server started for one test.
type prometheus struct {
	addr string
	proc *proc
}

// startPrometheus runs prometheus on a free loopback port with a
// throw-away database, scraping target (host:port) every second.
func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	text := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"+
		"  - job_name: gatehouse\n    scrape_timeout: 1s\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &prometheus{}
	for attempt := 1; ; attempt++ {
		p.addr = freeAddr(t)
		p.proc = startProc(t, "prometheus", bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+p.addr, "--log.level=warn")
		ok := false
		eventually(t, "prometheus to be ready", func() bool {
			if p.proc.exited() {
				return true
			}
			resp, err := http.Get("http://" + p.addr + "/-/ready")
			if err != nil {
				return false
			}
			resp.Body.Close()
			ok = resp.StatusCode == 200
			return ok
		})
		if ok || attempt == 3 {
			break
		}
		t.Logf("prometheus exited (port %s taken?); trying another port", p.addr)
	}
	p.proc.requireAlive(t)
	return p
}

// value runs an instant query that yields at most one sample and
// returns its value (0 for no sample).
func (p *prometheus) value(t testing.TB, query string) float64 {
	t.Helper()
	v, _ := p.query(t, query)
	return v
}

func (p *prometheus) query(t testing.TB, query string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatalf("querying prometheus: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != "success" {
		t.Fatalf("query %q: %v %s %s", query, err, out.Status, out.Error)
	}
	if len(out.Data.Result) == 0 {
		return 0, false
	}
	if len(out.Data.Result) > 1 {
		t.Fatalf("query %q: %d samples, want one", query, len(out.Data.Result))
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("query %q: value %v", query, out.Data.Result[0].Value)
	}
	return v, true
}

// wait polls query until it has a sample of at least min.
func (p *prometheus) wait(t testing.TB, query string, min float64, what string) {
	t.Helper()
	var last float64
	deadline := time.Now().Add(waitFor)
	for {
		v, ok := p.query(t, query)
		if ok && v >= min {
			return
		}
		last = v
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s = %v, want at least %v", what, query, last, min)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitBelow polls query until it has a sample below max.
func (p *prometheus) waitBelow(t testing.TB, query string, max float64, what string) {
	t.Helper()
	eventually(t, what, func() bool {
		v, ok := p.query(t, query)
		return ok && v < max
	})
}
