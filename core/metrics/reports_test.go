package metrics

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scrape returns the value of the one series of name whose labels
// include every label=value pair in want.
func scrape(t *testing.T, m *Metrics, name string, want ...string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, s := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range s.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for _, kv := range want {
				k, v, _ := strings.Cut(kv, "=")
				if got[k] != v {
					continue series
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			}
		}
	}
	return -1
}

func report(start string, requests, dial uint64, plugin uint64) *tunnel.ConnectorMetrics {
	b := make([]uint64, len(tunnel.BackendBuckets)+1)
	b[3] = requests - dial
	return &tunnel.ConnectorMetrics{Start: start,
		Apps: []tunnel.AppMetrics{
			{App: "hr", Requests: requests, Errors: map[string]uint64{"dial": dial, "made-up": 99}, Buckets: b, Sum: float64(requests-dial) / 100},
			{App: "not-configured", Requests: 5},
		},
		SignOn: []tunnel.PluginMetrics{{Plugin: "kcd", Failures: plugin, Calls: 10 * plugin, Reused: 100 * plugin}, {Plugin: "other", Failures: 1}},
	}
}

// TestConnectorReports: a connector's cumulative counts become counters
// labelled with the id and group the caller gives; they only grow, across
// a restart (new start id), a late snapshot of the old run and a stale
// snapshot of the same run; names outside the config and unknown error
// kinds are dropped.
func TestConnectorReports(t *testing.T) {
	m := New("v")
	apps := func(n string) bool { return n == "hr" }
	plugins := func(n string) bool { return n == "kcd" }
	steps := []struct {
		rep                  *tunnel.ConnectorMetrics
		requests, dial, fail float64
	}{
		{report("run1", 10, 2, 1), 10, 2, 1},
		{report("run1", 15, 3, 1), 15, 3, 1},
		{report("run1", 12, 2, 1), 15, 3, 1}, // stale: from the other session, sent earlier
		{report("run2", 4, 4, 2), 19, 7, 3},  // restarted: counts from 0 again
		{report("run1", 16, 3, 1), 20, 7, 3}, // the old run's last heartbeat, late
		{report("run2", 6, 4, 2), 22, 7, 3},
	}
	for i, s := range steps {
		m.ConnectorReport("c1", "corp", s.rep, apps, plugins)
		l := []string{"connector=c1", "group=corp", "app=hr"}
		if got := scrape(t, m, "gatehouse_connector_backend_requests_total", l...); got != s.requests {
			t.Errorf("step %d: requests %v, want %v", i, got, s.requests)
		}
		if got := scrape(t, m, "gatehouse_connector_backend_errors_total", append(l, "kind=dial")...); got != s.dial {
			t.Errorf("step %d: dial errors %v, want %v", i, got, s.dial)
		}
		if got := scrape(t, m, "gatehouse_connector_backend_duration_seconds", l...); got != s.requests-s.dial {
			t.Errorf("step %d: timed calls %v, want %v", i, got, s.requests-s.dial)
		}
		if got := scrape(t, m, "gatehouse_connector_signon_failures_total", "connector=c1", "plugin=kcd"); got != s.fail {
			t.Errorf("step %d: kcd failures %v, want %v", i, got, s.fail)
		}
		calls := scrape(t, m, "gatehouse_connector_signon_calls_total", "connector=c1", "plugin=kcd")
		reused := scrape(t, m, "gatehouse_connector_signon_reused_total", "connector=c1", "plugin=kcd")
		if calls != 10*s.fail || reused != 100*s.fail {
			t.Errorf("step %d: kcd calls %v reused %v, want %v and %v", i, calls, reused, 10*s.fail, 100*s.fail)
		}
	}
	for _, bad := range [][]string{{"app=not-configured"}, {"kind=made-up"}} {
		if got := scrape(t, m, "gatehouse_connector_backend_requests_total", bad...); got != -1 {
			t.Errorf("series %v exists (%v): names outside the config must be dropped", bad, got)
		}
	}
	if got := scrape(t, m, "gatehouse_connector_signon_failures_total", "plugin=other"); got != -1 {
		t.Errorf("plug-in outside the config counted: %v", got)
	}
	if n, err := testutil.GatherAndCount(m.reg, "gatehouse_connector_backend_errors_total"); err != nil || n != len(tunnel.BackendErrKinds) {
		t.Errorf("error series: %d (%v), want one per kind", n, err)
	}
}

// TestConnectorReportsBounded: a connector that reports many apps and
// start ids keeps a bounded state.
func TestConnectorReportsBounded(t *testing.T) {
	m := New("v")
	all := func(string) bool { return true }
	rep := &tunnel.ConnectorMetrics{}
	for i := range 3 * maxReportNames {
		rep.Apps = append(rep.Apps, tunnel.AppMetrics{App: strings.Repeat("a", i+1), Requests: 1})
	}
	for i := range 20 {
		rep.Start = strings.Repeat("s", i+1)
		m.ConnectorReport("c1", "g", rep, all, all)
	}
	r := m.reports.byID["c1"]
	if len(r.apps) != maxReportNames || len(r.runs) != maxRuns {
		t.Errorf("kept %d apps and %d runs, want %d and %d", len(r.apps), len(r.runs), maxReportNames, maxRuns)
	}
	m.ConnectorReport("c1", "g", nil, all, all) // a heartbeat without metrics
	var nilM *Metrics
	nilM.ConnectorReport("c1", "g", rep, all, all)
}
