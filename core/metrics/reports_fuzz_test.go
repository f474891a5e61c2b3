package metrics

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/tunnel"
)

// FuzzConnectorReport feeds a connector's heartbeat metrics, as JSON a
// hostile connector could send, to the gateway twice in a row. It must
// never panic, keep its bounds, and never make a counter go down.
func FuzzConnectorReport(f *testing.F) {
	f.Add([]byte(`{"start":"a","apps":[{"app":"hr","requests":3,"errors":{"dial":1,"x":5},"buckets":[1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"sum":0.01}],"sign_on":[{"plugin":"kcd","failures":2,"restarts":1}]}`),
		[]byte(`{"start":"a","apps":[{"app":"hr","requests":1,"buckets":[9]}]}`))
	f.Add([]byte(`{"start":"b","apps":[{"app":"hr","requests":18446744073709551615,"sum":-1}]}`), []byte(`{"start":"c"}`))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		m := New("v")
		apps := func(n string) bool { return n == "hr" || n == "crm" }
		plugins := func(n string) bool { return n == "kcd" }
		var prev map[string]float64
		for _, b := range [][]byte{first, second} {
			var rep tunnel.ConnectorMetrics
			if json.Unmarshal(b, &rep) != nil {
				continue
			}
			m.ConnectorReport("c1", "g", &rep, apps, plugins)
			got := map[string]float64{}
			mfs, err := m.reg.Gather()
			if err != nil {
				t.Fatalf("gather: %v", err)
			}
			for _, mf := range mfs {
				for _, s := range mf.GetMetric() {
					key := mf.GetName()
					for _, l := range s.GetLabel() {
						key += "," + l.GetName() + "=" + l.GetValue()
					}
					switch {
					case s.Counter != nil:
						got[key] = s.Counter.GetValue()
					case s.Histogram != nil && mf.GetName() == "gatehouse_connector_backend_duration_seconds":
						got[key] = float64(s.Histogram.GetSampleCount())
					}
				}
			}
			for k, v := range prev {
				if got[k] < v {
					t.Fatalf("%s went down: %v then %v", k, v, got[k])
				}
			}
			prev = got
		}
		if r := m.reports.byID["c1"]; r != nil && (len(r.apps) > 2 || len(r.plugins) > 1 || len(r.runs) > maxRuns) {
			t.Fatalf("kept %d apps, %d plug-ins, %d runs", len(r.apps), len(r.plugins), len(r.runs))
		}
	})
}
