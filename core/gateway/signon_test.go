package gateway

import (
	"testing"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/tunnel"
)

// An app's Since moves only when its connector config changes, so a reload
// that leaves an app alone never holds back its requests.
func TestSignOnNeedsSince(t *testing.T) {
	cfg := &config.Config{Plugins: []config.Plugin{{Name: "header", Builtin: true}, {Name: "tenant-sig", Connector: true}}}
	snap := func(version uint64, crmTenant string) *snapshot {
		return &snapshot{cfg: cfg, version: version, connectors: map[string]*tunnel.Config{"g": {Apps: []tunnel.AppConfig{
			{Name: "crm", URL: "http://crm", SignOn: &tunnel.SignOn{Plugin: "tenant-sig", Config: map[string]any{"tenant": crmTenant}}},
			{Name: "hr", URL: "http://hr", SignOn: &tunnel.SignOn{Plugin: "header"}},
			{Name: "wiki", URL: "http://wiki"},
		}}}}
	}
	s1 := snap(1, "acme")
	if err := s1.signOnNeeds(nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]registry.SignOnNeed{"crm": {Plugin: "tenant-sig", Since: 1}, "hr": {Plugin: "header", Builtin: true, Since: 1}}
	if len(s1.needs) != 2 || s1.needs["crm"] != want["crm"] || s1.needs["hr"] != want["hr"] {
		t.Fatalf("needs = %+v", s1.needs)
	}
	s2 := snap(2, "acme")
	_ = s2.signOnNeeds(s1)
	if s2.needs["crm"].Since != 1 || s2.needs["hr"].Since != 1 {
		t.Fatalf("an unchanged reload moved Since: %+v", s2.needs)
	}
	s3 := snap(3, "globex")
	_ = s3.signOnNeeds(s2)
	if s3.needs["crm"].Since != 3 || s3.needs["hr"].Since != 1 {
		t.Fatalf("after crm's config changed: %+v", s3.needs)
	}
	if got := ConnectorSignOns(&config.Config{Path: "g.yaml", Plugins: cfg.Plugins, Apps: []config.App{
		{Name: "crm", SignOn: config.SignOn{Plugin: "tenant-sig", Config: config.Opaque{Line: 7, Column: 15}}},
		{Name: "hr", SignOn: config.SignOn{Plugin: "header"}},
	}}); len(got) != 1 || got[0][:54] != `g.yaml:7:15: apps[0].sign_on.config: plug-in "tenant-s` {
		t.Fatalf("ConnectorSignOns = %q", got)
	}
}
