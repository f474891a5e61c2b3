package gateway

import (
	"fmt"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/proxy"
	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/internal/fingerprint"
)

// connectorPlugin reports whether plug-in name is one the connectors run
// from their own catalogs (connector: true), which the gateway cannot
// start or check.
func connectorPlugin(cfg *config.Config, name string) bool {
	for _, p := range cfg.Plugins {
		if p.Name == name {
			return p.Connector
		}
	}
	return false
}

// ConnectorSignOns lists, for 'gatehouse config check', the apps whose
// sign_on config only the connectors can check.
func ConnectorSignOns(cfg *config.Config) []string {
	var out []string
	for i, a := range cfg.Apps {
		if a.SignOn.Plugin != "" && connectorPlugin(cfg, a.SignOn.Plugin) {
			out = append(out, fmt.Sprintf("%s:%d:%d: apps[%d].sign_on.config: plug-in %q runs at the connectors (connector: true): each connector checks this config when it gets the app; 'gatehouse connectors' shows what they refused",
				cfg.Path, a.SignOn.Config.Line, a.SignOn.Config.Column, i, a.SignOn.Plugin))
		}
	}
	return out
}

// signOnNeeds says, per app with sign_on, what a connector session must
// have answered before it gets the app's requests (see registry.DialApp).
// An app's Since is this snapshot's version unless its connector config is
// the same as in prev.
func (s *snapshot) signOnNeeds(prev *snapshot) error {
	s.needs, s.appSums = map[string]registry.SignOnNeed{}, map[string]fingerprint.Sum{}
	for _, cc := range s.connectors {
		for _, ac := range cc.Apps {
			if ac.SignOn == nil {
				continue
			}
			sum, err := fingerprint.Of(ac)
			if err != nil {
				return fmt.Errorf("app %q: %w", ac.Name, err)
			}
			need := registry.SignOnNeed{Plugin: ac.SignOn.Plugin, Builtin: !connectorPlugin(s.cfg, ac.SignOn.Plugin), Since: s.version}
			if prev != nil && prev.appSums[ac.Name] == sum {
				need.Since = prev.needs[ac.Name].Since
			}
			s.needs[ac.Name], s.appSums[ac.Name] = need, sum
		}
	}
	return nil
}

// The registry routes each request by its app's sign-on.
var _ proxy.AppDialer = (*registry.Registry)(nil)
