package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Group is a configured connector group as the metrics see it.
type Group struct {
	Name  string
	InUse bool // an app uses it
}

// Connector is one connector attached to this node.
type Connector struct {
	ID, Group string
	Active    bool // heartbeats within tunnel.inactive_after
	Sessions  int
	Draining  int // sessions its connector is draining
	InFlight  int64
	RTT       time.Duration // the tunnel's latest round trip; 0: not measured yet
}

// State is a connector's state: draining when every session drains,
// else active or inactive by its heartbeats.
func (c Connector) State() string {
	switch {
	case c.Sessions > 0 && c.Draining == c.Sessions:
		return "draining"
	case c.Active:
		return "active"
	}
	return "inactive"
}

// Serving reports whether c takes new requests.
func (c Connector) Serving() bool { return c.State() == "active" }

// States are the connector states, in the order the API lists them.
var States = []string{"active", "inactive", "draining"}

// WatchConnectors sets where the connector and group metrics come from:
// view is called at each scrape.
func (m *Metrics) WatchConnectors(view func() ([]Group, []Connector)) {
	if m != nil {
		m.connectors.view.Store(&view)
	}
}

// connectorCollector makes the connector and group gauges at scrape
// time, from the registry and the live config.
type connectorCollector struct {
	view atomic.Pointer[func() ([]Group, []Connector)]
}

var (
	descConnectors = prometheus.NewDesc(ns+"_connectors", "Connectors attached to this node, by group and state.", []string{"group", "state"}, nil)
	descGroupUp    = prometheus.NewDesc(ns+"_connector_group_up", "1 when a connector group that an app uses has an active connector on this node.", []string{"group"}, nil)
	descSessions   = prometheus.NewDesc(ns+"_tunnel_sessions", "Attached tunnel sessions of a connector.", []string{"connector", "group"}, nil)
	descStreams    = prometheus.NewDesc(ns+"_connector_streams_in_flight", "Requests on a connector's streams.", []string{"connector", "group"}, nil)
	descRTT        = prometheus.NewDesc(ns+"_tunnel_rtt_seconds", "The latest round trip measured on a connector's tunnel (a ping per heartbeat interval).", []string{"connector", "group"}, nil)
)

func (c *connectorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnectors, descGroupUp, descSessions, descStreams, descRTT} {
		ch <- d
	}
}

func (c *connectorCollector) Collect(ch chan<- prometheus.Metric) {
	view := c.view.Load()
	if view == nil {
		return
	}
	groups, conns := (*view)()
	counts := map[string]map[string]int{}
	for _, g := range groups {
		counts[g.Name] = map[string]int{}
	}
	for _, cn := range conns {
		if counts[cn.Group] == nil { // a group a reload removed
			counts[cn.Group] = map[string]int{}
		}
		counts[cn.Group][cn.State()]++
		ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(cn.Sessions), cn.ID, cn.Group)
		ch <- prometheus.MustNewConstMetric(descStreams, prometheus.GaugeValue, float64(cn.InFlight), cn.ID, cn.Group)
		if cn.RTT > 0 {
			ch <- prometheus.MustNewConstMetric(descRTT, prometheus.GaugeValue, cn.RTT.Seconds(), cn.ID, cn.Group)
		}
	}
	for g, byState := range counts {
		for _, s := range States {
			ch <- prometheus.MustNewConstMetric(descConnectors, prometheus.GaugeValue, float64(byState[s]), g, s)
		}
	}
	for _, g := range groups {
		if g.InUse {
			ch <- prometheus.MustNewConstMetric(descGroupUp, prometheus.GaugeValue, b2f(counts[g.Name]["active"] > 0), g.Name)
		}
	}
}
