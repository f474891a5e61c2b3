package deploy

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	alertsFile     = "prometheus/gatehouse-alerts.yml"
	alertsTestFile = "prometheus/gatehouse-alerts_test.yml"
)

func promtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(tool(t, "promtool", "prometheus"), args...).CombinedOutput()
	return string(out), err
}

// promtool accepts the rules and passes their test cases; a broken rule
// and a wrong expectation make it fail.
func TestAlertRules(t *testing.T) {
	if out, err := promtool(t, "check", "rules", alertsFile); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := promtool(t, "test", "rules", alertsTestFile); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}

	rules, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := os.ReadFile(alertsTestFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yml")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(rules), "gatehouse_connector_group_up == 0", "gatehouse_connector_group_up == == 0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := promtool(t, "check", "rules", broken); err == nil {
		t.Fatalf("promtool check rules accepted a broken expression:\n%s", out)
	}
	// The group-down case expects no alert where the group is down.
	if err := os.WriteFile(filepath.Join(dir, "gatehouse-alerts.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	wrong := strings.Replace(string(cases), "values: '1 1 1 0 0 0 0 0'", "values: '1 1 1 1 1 1 1 1'", 1)
	if wrong == string(cases) {
		t.Fatal("the group-down case is not where this test expects it")
	}
	if err := os.WriteFile(filepath.Join(dir, "cases.yml"), []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := promtool(t, "test", "rules", filepath.Join(dir, "cases.yml"))
	if err == nil || !strings.Contains(out, "GatehouseConnectorGroupDown") {
		t.Fatalf("promtool test rules passed with the group never down: %v\n%s", err, out)
	}
}

// alertRule is one rule of the rule file.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// alerts reads the rule file.
func alerts(t *testing.T) []alertRule {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil || len(f.Groups) == 0 {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return f.Groups[0].Rules
}

var metricName = regexp.MustCompile(`gatehouse_[a-z_]+`)

// Every metric a rule uses is one the gateway exports (core/metrics lists
// them all in its package doc); every alert has a severity and a summary;
// the alerts the operating guide promises are there, and each has a test
// case.
func TestAlertRulesUseRealMetrics(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "core", "metrics", "metrics.go"), nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil || f.Doc == nil {
		t.Fatalf("reading core/metrics' package doc: %v", err)
	}
	exported := metricName.FindAllString(f.Doc.Text(), -1)
	if len(exported) < 10 {
		t.Fatalf("core/metrics' doc lists only %q", exported)
	}
	cases, err := os.ReadFile(alertsTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range alerts(t) {
		names = append(names, r.Alert)
		for _, m := range metricName.FindAllString(r.Expr, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
			if !slices.Contains(exported, m) && !slices.Contains(exported, base) {
				t.Errorf("alert %s uses %s, which core/metrics does not export", r.Alert, m)
			}
		}
		if r.Labels["severity"] != "warning" && r.Labels["severity"] != "critical" {
			t.Errorf("alert %s: severity %q, want warning or critical", r.Alert, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s lacks a summary or a description", r.Alert)
		}
	}
	for _, want := range []string{"GatehouseGatewayDown", "GatehouseConnectorGroupDown", "GatehouseHighErrorRatio", "GatehouseCertificateExpiresSoon"} {
		if !slices.Contains(names, want) {
			t.Errorf("the rules lack %s (have %q)", want, names)
		}
		if !strings.Contains(string(cases), "alertname: "+want+"\n") {
			t.Errorf("%s has no promtool test case", want)
		}
	}
}
