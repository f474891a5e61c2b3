package gateway

import (
	"github.com/gatehouse/gatehouse/tunnel"
)

// connectorReport adds a connector's own metrics (sent with its
// heartbeats) to the gateway's: only for the apps, and the sign-on
// plug-ins of the apps, that the current config gives its group, so a
// connector cannot make new series up.
func (g *Gateway) connectorReport(id, group string, rep *tunnel.ConnectorMetrics) {
	m := g.opts.Admin.Metrics()
	if m == nil {
		return
	}
	cc := g.snap.Load().connectorConfig(group)
	apps, plugins := map[string]bool{}, map[string]bool{}
	for _, a := range cc.Apps {
		apps[a.Name] = true
		if a.SignOn != nil {
			plugins[a.SignOn.Plugin] = true
		}
	}
	m.ConnectorReport(id, group, rep, func(n string) bool { return apps[n] }, func(n string) bool { return plugins[n] })
}

// connectorState logs a connector's state changes at WARN (going
// inactive is logged by Sweep): an operator's log shows when a group
// lost or regained a connector.
func (g *Gateway) connectorState(id, group, state string) {
	g.log.Warn("connector "+state, "connector", id, "group", group, "state", state)
}
