package metrics

import (
	"math"
	"sort"
	"sync"

	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/prometheus/client_golang/prometheus"
)

// Connectors' own metrics (tunnel.ConnectorMetrics, sent with their
// heartbeats), exposed labelled by connector and group:
//
//	gatehouse_connector_backend_requests_total{connector,group,app}      counter; backend calls
//	gatehouse_connector_backend_errors_total{connector,group,app,kind}   counter; kind: dial, timeout, tls, other, 5xx
//	gatehouse_connector_backend_duration_seconds{connector,group,app}    histogram; to the response head
//	gatehouse_connector_signon_failures_total{connector,group,plugin}    counter; requests refused because the plug-in failed
//	gatehouse_connector_plugin_restarts_total{connector,group,plugin}    counter
//	gatehouse_connector_signon_calls_total{connector,group,plugin}       counter; Inject calls for requests
//	gatehouse_connector_signon_reused_total{connector,group,plugin}      counter; requests served a reused sign-on result or a spare
//
// A connector reports counts since its process started, with an id of
// that run: the gateway adds the differences, so its counters never go
// down, across connector restarts too. The connector label is the
// session's certificate's, never the message's; apps and plug-ins the
// gateway's config does not give the connector's group are dropped.

// Bounds on what one connector's reports can make the gateway keep.
const (
	maxReportNames = 256 // apps and plug-ins per connector
	maxRuns        = 4   // process runs remembered per connector
	maxReporters   = 10000
)

var (
	descBackendRequests = prometheus.NewDesc(ns+"_connector_backend_requests_total", "Backend calls a connector made, by app.", []string{"connector", "group", "app"}, nil)
	descBackendErrors   = prometheus.NewDesc(ns+"_connector_backend_errors_total", "Backend calls that failed at a connector, by kind (dial, timeout, tls, other, 5xx).", []string{"connector", "group", "app", "kind"}, nil)
	descBackendDuration = prometheus.NewDesc(ns+"_connector_backend_duration_seconds", "Time from a connector's backend call to the response head.", []string{"connector", "group", "app"}, nil)
	descSignOnFailures  = prometheus.NewDesc(ns+"_connector_signon_failures_total", "Requests a connector refused because their sign-on plug-in failed.", []string{"connector", "group", "plugin"}, nil)
	descPluginRestarts  = prometheus.NewDesc(ns+"_connector_plugin_restarts_total", "Sign-on plug-in processes a connector restarted.", []string{"connector", "group", "plugin"}, nil)
	descSignOnCalls     = prometheus.NewDesc(ns+"_connector_signon_calls_total", "Sign-on plug-in (Inject) calls a connector made for requests.", []string{"connector", "group", "plugin"}, nil)
	descSignOnReused    = prometheus.NewDesc(ns+"_connector_signon_reused_total", "Requests a connector served with a sign-on result the plug-in let it reuse, or one of its spares, without a call.", []string{"connector", "group", "plugin"}, nil)
)

// appVals are one app's counts; pluginVals one plug-in's.
type appVals struct {
	requests uint64
	errors   [5]uint64 // tunnel.BackendErrKinds order
	buckets  []uint64  // len(tunnel.BackendBuckets)+1, not cumulative
	sum      float64
}

type pluginVals struct{ failures, restarts, calls, reused uint64 }

// run is the last counts one connector process reported.
type run struct {
	start   string
	apps    map[string]*appVals
	plugins map[string]*pluginVals
}

// reporter is one connector's totals on this gateway.
type reporter struct {
	group   string
	runs    []*run // newest last
	apps    map[string]*appVals
	plugins map[string]*pluginVals
}

type reportCollector struct {
	mu   sync.Mutex
	byID map[string]*reporter
}

// ConnectorReport adds what connector id of group reported. apps and
// plugins say which names the config gives that group (others are
// dropped).
func (m *Metrics) ConnectorReport(id, group string, rep *tunnel.ConnectorMetrics, apps, plugins func(string) bool) {
	if m == nil || rep == nil {
		return
	}
	c := m.reports
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.byID[id]
	if r == nil {
		if len(c.byID) >= maxReporters {
			return
		}
		r = &reporter{apps: map[string]*appVals{}, plugins: map[string]*pluginVals{}}
		c.byID[id] = r
	}
	r.group = group
	ru := r.run(rep.Start)
	for _, a := range rep.Apps {
		if apps(a.App) {
			r.addApp(ru, a)
		}
	}
	for _, p := range rep.SignOn {
		if plugins(p.Plugin) {
			r.addPlugin(ru, p)
		}
	}
}

// run returns the run start's last counts (new and empty for a run not
// seen, which forgets the oldest past maxRuns).
func (r *reporter) run(start string) *run {
	if len(start) > 64 { // cut before the lookup, so a long id finds its run again
		start = start[:64]
	}
	for _, ru := range r.runs {
		if ru.start == start {
			return ru
		}
	}
	ru := &run{start: start, apps: map[string]*appVals{}, plugins: map[string]*pluginVals{}}
	if len(r.runs) == maxRuns {
		r.runs = r.runs[1:]
	}
	r.runs = append(r.runs, ru)
	return ru
}

// grow adds to *total what cur adds to *last; a count lower than the
// last one (an older snapshot that arrived late) is ignored.
func grow(total, last *uint64, cur uint64) {
	if cur >= *last {
		*total = satAdd(*total, cur-*last)
		*last = cur
	}
}

// satAdd is a+b, or the largest uint64 where that overflows: a connector
// that reports huge counts (run after run) must not wrap a total around
// to a small one, which Prometheus would read as a counter reset.
func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

func (r *reporter) addApp(ru *run, a tunnel.AppMetrics) {
	tot, last := r.apps[a.App], ru.apps[a.App]
	if tot == nil || last == nil {
		if len(r.apps) >= maxReportNames && tot == nil {
			return
		}
		if tot == nil {
			tot = &appVals{buckets: make([]uint64, len(tunnel.BackendBuckets)+1)}
			r.apps[a.App] = tot
		}
		last = &appVals{buckets: make([]uint64, len(tunnel.BackendBuckets)+1)}
		ru.apps[a.App] = last
	}
	grow(&tot.requests, &last.requests, a.Requests)
	for i, k := range tunnel.BackendErrKinds {
		grow(&tot.errors[i], &last.errors[i], a.Errors[k])
	}
	if len(a.Buckets) == len(tot.buckets) {
		older := false
		for i, n := range a.Buckets {
			older = older || n < last.buckets[i]
		}
		if !older && a.Sum >= last.sum {
			for i, n := range a.Buckets {
				grow(&tot.buckets[i], &last.buckets[i], n)
			}
			tot.sum += a.Sum - last.sum
			last.sum = a.Sum
		}
	}
}

func (r *reporter) addPlugin(ru *run, p tunnel.PluginMetrics) {
	tot, last := r.plugins[p.Plugin], ru.plugins[p.Plugin]
	if tot == nil {
		if len(r.plugins) >= maxReportNames {
			return
		}
		tot = &pluginVals{}
		r.plugins[p.Plugin] = tot
	}
	if last == nil {
		last = &pluginVals{}
		ru.plugins[p.Plugin] = last
	}
	grow(&tot.failures, &last.failures, p.Failures)
	grow(&tot.restarts, &last.restarts, p.Restarts)
	grow(&tot.calls, &last.calls, p.Calls)
	grow(&tot.reused, &last.reused, p.Reused)
}

func (c *reportCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBackendRequests, descBackendErrors, descBackendDuration, descSignOnFailures, descPluginRestarts, descSignOnCalls, descSignOnReused} {
		ch <- d
	}
}

func (c *reportCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, r := range c.byID {
		for app, v := range r.apps {
			ch <- prometheus.MustNewConstMetric(descBackendRequests, prometheus.CounterValue, float64(v.requests), id, r.group, app)
			for i, k := range tunnel.BackendErrKinds {
				ch <- prometheus.MustNewConstMetric(descBackendErrors, prometheus.CounterValue, float64(v.errors[i]), id, r.group, app, k)
			}
			ch <- prometheus.MustNewConstHistogram(descBackendDuration, cumulative(v.buckets), v.sum, bucketMap(v.buckets), id, r.group, app)
		}
		for p, v := range r.plugins {
			ch <- prometheus.MustNewConstMetric(descSignOnFailures, prometheus.CounterValue, float64(v.failures), id, r.group, p)
			ch <- prometheus.MustNewConstMetric(descPluginRestarts, prometheus.CounterValue, float64(v.restarts), id, r.group, p)
			ch <- prometheus.MustNewConstMetric(descSignOnCalls, prometheus.CounterValue, float64(v.calls), id, r.group, p)
			ch <- prometheus.MustNewConstMetric(descSignOnReused, prometheus.CounterValue, float64(v.reused), id, r.group, p)
		}
	}
}

// cumulative is the histogram's count: every bucket, the last (+Inf) too.
func cumulative(b []uint64) uint64 {
	var n uint64
	for _, c := range b {
		n = satAdd(n, c)
	}
	return n
}

// bucketMap turns per-bucket counts into Prometheus's cumulative ones.
func bucketMap(b []uint64) map[float64]uint64 {
	out := make(map[float64]uint64, len(tunnel.BackendBuckets))
	var n uint64
	for i, le := range tunnel.BackendBuckets {
		n = satAdd(n, b[i])
		out[le] = n
	}
	return out
}

// ReportedConnectors lists the connectors with reports, for tests.
func (m *Metrics) ReportedConnectors() []string {
	m.reports.mu.Lock()
	defer m.reports.mu.Unlock()
	var ids []string
	for id := range m.reports.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
