package e2e

// Hostile cases of class "reports": an enrolled connector that lies in
// what it reports about itself, the metrics of its heartbeats and the
// sign-on report of its ready. The gateway exposes those on its admin
// listener (/metrics, /api/v1/connectors, the console), so each case
// checks that the gateway stays alive, the good app still serves, the
// whole /metrics still parses as Prometheus text, and its own property.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one parse of /metrics: every family by name.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics fetches /metrics and parses it with the Prometheus text
// parser; a page that does not parse fails the test.
func scrapeMetrics(t testing.TB, admin string) scrape {
	t.Helper()
	code, body := adminGet(t, admin, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, clip(body, 200))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v", err)
	}
	return mfs
}

func labelOf(m *dto.Metric, name string) (string, bool) {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue(), true
		}
	}
	return "", false
}

// series returns, for connector id, every counter value and histogram
// count and bucket of the connector families, keyed by family and labels.
func (s scrape) series(id string) map[string]float64 {
	out := map[string]float64{}
	for name, mf := range s {
		if !strings.HasPrefix(name, "gatehouse_connector_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			if c, _ := labelOf(m, "connector"); c != id {
				continue
			}
			key := name
			for _, l := range m.GetLabel() {
				key += fmt.Sprintf(",%s=%q", l.GetName(), l.GetValue())
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Histogram != nil:
				out[key+",count"] = float64(m.Histogram.GetSampleCount())
				for _, b := range m.Histogram.GetBucket() {
					out[key+fmt.Sprintf(",le=%g", b.GetUpperBound())] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

// value is one sample of family name whose labels include want; -1 if none.
func (s scrape) value(name string, want map[string]string) float64 {
	for _, m := range s[name].GetMetric() {
		ok := true
		for k, v := range want {
			if got, _ := labelOf(m, k); got != v {
				ok = false
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return -1
}

// reporter is a hostile connector of the test's, on a session of its own.
type reporter struct {
	*evilConnector
	g      *adminGateway
	cert   tls.Certificate
	pool   *x509.CertPool
	marks  map[string]uint64 // per run: the marker plug-in's last failures
	marked float64           // the marker series' exposed total
}

// newReporter enrolls a connector in group and opens a ready session that
// sends ready (its config version filled in) and no heartbeat of its own.
func newReporter(t *testing.T, g *adminGateway, group string, ready tunnel.Ready) *reporter {
	t.Helper()
	cert, pool, id := enrollCert(t, g.gatewayProc, group)
	r := &reporter{g: g, cert: cert, pool: pool, marks: map[string]uint64{}}
	r.evilConnector = readySession(t, g, cert, pool, id, ready)
	return r
}

// readySession says hello, reads the config and sends ready; what the
// gateway sends next is drained.
func readySession(t *testing.T, g *adminGateway, cert tls.Certificate, pool *x509.CertPool, id string, ready tunnel.Ready) *evilConnector {
	t.Helper()
	e := evilSession(t, g.gatewayProc, cert, pool, id, false)
	e.send(t, tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "evil", Hostname: "evil"}})
	_ = e.control.SetReadDeadline(time.Now().Add(waitFor))
	var m tunnel.Message
	if err := tunnel.ReadFrame(e.control, &m); err != nil || m.Type != tunnel.MsgConfig {
		t.Fatalf("want a config, got %+v, %v", m, err)
	}
	_ = e.control.SetReadDeadline(time.Time{})
	ready.ConfigVersion = m.Config.Version
	e.send(t, tunnel.Message{Type: tunnel.MsgReady, Ready: &ready})
	go func() { _, _ = io.Copy(io.Discard, e.control) }()
	g.log().waitLines(t, "the gateway to attach the session", 1, "connector session ready", "connector="+id)
	return e
}

// beat sends a heartbeat with metrics.
func (r *reporter) beat(t *testing.T, m *tunnel.ConnectorMetrics) {
	t.Helper()
	r.send(t, tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &tunnel.Heartbeat{Metrics: m}})
}

// sync sends a marker heartbeat in run start (one more failure of the
// evil group's sign-on plug-in, header) and waits for /metrics to show
// it: every frame sent before it has been handled. It returns that scrape.
func (r *reporter) sync(t *testing.T, start string) scrape {
	t.Helper()
	r.marks[start]++
	r.beat(t, &tunnel.ConnectorMetrics{Start: start, SignOn: []tunnel.PluginMetrics{{Plugin: "header", Failures: r.marks[start]}}})
	r.marked++
	var s scrape
	want := map[string]string{"connector": r.id, "plugin": "header"}
	eventually(t, "the marker heartbeat to show in /metrics", func() bool {
		r.g.proc.requireAlive(t)
		s = scrapeMetrics(t, r.g.admin)
		return s.value("gatehouse_connector_signon_failures_total", want) >= r.marked
	})
	return s
}

// TestHostileReports shares one gateway with an admin listener: app and
// sso (group default, a real connector; sso signs in by API key and signs
// on with the built-in header plug-in), evil and evilsso (group evil, the
// test's hostile connectors), lonely (group lonely, sign-on, no connector).
func TestHostileReports(t *testing.T) {
	rec := newRecorder(t)
	sso := `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`
	g := startAdminGateway(t, gwConfig{Groups: []string{"default", "evil", "lonely"}, Plugins: hdrPlugins(t)}, []appSpec{
		{Name: "app", Host: "app.localhost", Group: "default", URL: rec.URL},
		{Name: "sso", Host: "sso.localhost", Group: "default", URL: rec.URL, Auth: hdrAuth(), SignOn: sso},
		{Name: "evil", Host: "evil.localhost", Group: "evil", URL: rec.URL},
		{Name: "evilsso", Host: "evilsso.localhost", Group: "evil", URL: rec.URL, Auth: hdrAuth(), SignOn: sso},
		{Name: "lonely", Host: "lonely.localhost", Group: "lonely", URL: rec.URL, Auth: hdrAuth(), SignOn: sso},
	}, "admin:\n  console:\n    dev_no_signin: true\n")
	enrollConnector(t, g.gatewayProc, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/ready")

	// healthy checks the gateway is alive, the good app serves (the
	// backend's next request is it) and /metrics parses.
	healthy := func(t *testing.T) string {
		t.Helper()
		g.proc.requireAlive(t)
		n := rec.count()
		r := get(t, c, "https://app.localhost/still-serving")
		if got := rec.since(n); r.Status != http.StatusOK || len(got) != 1 || got[0].URI != "/still-serving" {
			t.Fatalf("the good app then answered %d, backend got %d", r.Status, len(got))
		}
		scrapeMetrics(t, g.admin)
		return "alive, the good app served, /metrics parses"
	}
	hostileReportCounters(t, g, healthy)
	hostileReportLabels(t, g, healthy)
	hostileReportOversized(t, g, healthy)
	hostileReportSignOn(t, g, c, rec, healthy)
	hostileReportFlood(t, g, c, healthy)
}

var evilApp = func(start string, req uint64) *tunnel.ConnectorMetrics {
	return &tunnel.ConnectorMetrics{Start: start, Apps: []tunnel.AppMetrics{{App: "evil", Requests: req}}}
}

func hostileReportCounters(t *testing.T, g *adminGateway, healthy func(*testing.T) string) {
	hostile(t, "reports", "heartbeat counters that go down, restart, reach uint64 max, then restart at max again",
		"exposed counters never decrease, never negative or NaN; late lower snapshots ignored", func(t *testing.T) (string, bool) {
			r := newReporter(t, g, "evil", tunnel.Ready{})
			buckets := make([]uint64, len(tunnel.BackendBuckets)+1)
			buckets[0], buckets[3] = math.MaxUint64, math.MaxUint64
			steps := []struct {
				name string
				m    *tunnel.ConnectorMetrics
			}{
				{"r1 100", evilApp("r1", 100)},
				{"r1 40 (down)", evilApp("r1", 40)},
				{"r1 150", evilApp("r1", 150)},
				{"r2 10 (restart)", evilApp("r2", 10)},
				{"r3 max", &tunnel.ConnectorMetrics{Start: "r3", Apps: []tunnel.AppMetrics{{App: "evil", Requests: math.MaxUint64,
					Errors: map[string]uint64{"dial": math.MaxUint64, "5xx": math.MaxUint64}, Buckets: buckets, Sum: math.MaxFloat64}}}},
				{"r4 max again", &tunnel.ConnectorMetrics{Start: "r4", Apps: []tunnel.AppMetrics{{App: "evil", Requests: math.MaxUint64,
					Errors: map[string]uint64{"dial": math.MaxUint64}, Buckets: buckets, Sum: math.MaxFloat64}}}},
				{"r4 sum negative, buckets short", &tunnel.ConnectorMetrics{Start: "r4", Apps: []tunnel.AppMetrics{{App: "evil", Requests: 1, Buckets: []uint64{1}, Sum: -1}}}},
				{"r5 max-1", evilApp("r5", math.MaxUint64-1)},
			}
			var prev map[string]float64
			var seen []string
			for _, st := range steps {
				r.beat(t, st.m)
				cur := r.sync(t, st.m.Start).series(r.id)
				key := fmt.Sprintf("gatehouse_connector_backend_requests_total,app=%q,connector=%q,group=%q", "evil", r.id, "evil")
				seen = append(seen, fmt.Sprintf("%s→%g", st.name, cur[key]))
				for k, v := range cur {
					if v < 0 || math.IsNaN(v) {
						return fmt.Sprintf("after %s: %s = %v", st.name, k, v), false
					}
				}
				for k, v := range prev {
					if cur[k] < v {
						return fmt.Sprintf("after %s: %s went down from %v to %v (%s)", st.name, k, v, cur[k], strings.Join(seen, ", ")), false
					}
				}
				prev = cur
			}
			if want := []string{"r1 100→100", "r1 40 (down)→100", "r1 150→150", "r2 10 (restart)→160"}; !slices.Equal(seen[:4], want) {
				return "counts: " + strings.Join(seen, ", "), false
			}
			// Values no uint64 can hold: the frame does not decode, the
			// session is closed with the reason, and the counts stay.
			for _, raw := range []string{`"requests":-5`, `"requests":1e400`, `"requests":18446744073709551616`, `"sum":NaN`} {
				e := r.evilConnector
				body := `{"type":"heartbeat","heartbeat":{"metrics":{"start":"r5","apps":[{"app":"evil",` + raw + `}]}}}`
				e.writeRaw(frame([]byte(body)))
				requireSessionClosed(t, e)
				g.log().waitLines(t, "the malformed heartbeat logged", 1, "control stream failed", "malformed frame", "connector="+r.id)
				r.evilConnector = readySession(t, g, r.cert, r.pool, r.id, tunnel.Ready{})
				cur := r.sync(t, "r5").series(r.id)
				for k, v := range prev {
					if cur[k] < v || (cur[k] != v && !strings.Contains(k, "signon_failures")) {
						return fmt.Sprintf("after %s: %s from %v to %v", raw, k, v, cur[k]), false
					}
				}
				prev = cur
				seen = append(seen, raw+": session closed (malformed frame), counts kept")
			}
			return strings.Join(seen, "; ") + "; " + healthy(t), true
		})
}

// frame is b with the control stream's length prefix, written by hand so
// that the test may send what WriteFrame would refuse.
func frame(b []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	return append(out, b...)
}

// reportFamilies are the families of connectors' reports
// (core/metrics/reports.go): at most 7 series per app of the group
// (requests, 5 error kinds, a histogram) and 4 per sign-on plug-in.
var reportFamilies = map[string]bool{"gatehouse_connector_backend_requests_total": true, "gatehouse_connector_backend_errors_total": true,
	"gatehouse_connector_backend_duration_seconds": true, "gatehouse_connector_signon_failures_total": true, "gatehouse_connector_plugin_restarts_total": true,
	"gatehouse_connector_signon_calls_total": true, "gatehouse_connector_signon_reused_total": true}

func hostileReportLabels(t *testing.T, g *adminGateway, healthy func(*testing.T) string) {
	configured := map[string][]string{"app": {"evil", "evilsso"}, "plugin": {"header"}, "kind": tunnel.BackendErrKinds, "group": {"evil"}}
	hostileNames := []string{`evil"} 1` + "\n# HELP gatehouse_up forged\ngatehouse_up 0", `evil\`, "evil\n", `evil}`, "evil\xff\xfe", "app", "sso", "lonely",
		"<script>alert(1)</script>", "# TYPE x counter", ""}
	// labelsOK checks that every series of connector id has only label
	// values the config gives its group.
	labelsOK := func(s scrape, id string) (int, string) {
		n := 0
		for name, mf := range s {
			for _, m := range mf.GetMetric() {
				if c, _ := labelOf(m, "connector"); c != id || !reportFamilies[name] {
					continue
				}
				n++
				for l, allowed := range configured {
					if v, ok := labelOf(m, l); ok && !slices.Contains(allowed, v) {
						return n, fmt.Sprintf("%s has %s=%q", name, l, v)
					}
				}
			}
		}
		return n, ""
	}
	hostile(t, "reports", "app, plug-in and error names with quotes, \\, newlines, }, # HELP, bad UTF-8, other groups' apps",
		"only the group's configured apps, plug-ins and the 5 error kinds as labels; /metrics parses", func(t *testing.T) (string, bool) {
			r := newReporter(t, g, "evil", tunnel.Ready{})
			m := &tunnel.ConnectorMetrics{Start: "x" + strings.Repeat("\n# HELP ", 20)}
			errs := map[string]uint64{"dial": 1}
			for _, n := range hostileNames {
				m.Apps = append(m.Apps, tunnel.AppMetrics{App: n, Requests: 7, Errors: map[string]uint64{n: 3}})
				m.SignOn = append(m.SignOn, tunnel.PluginMetrics{Plugin: n, Failures: 2})
				errs[n] = 9
			}
			m.Apps = append(m.Apps, tunnel.AppMetrics{App: "evil", Requests: 5, Errors: errs})
			r.beat(t, m)
			r.beat(t, m) // the same snapshot again: its run (a long start) found, nothing added
			// Raw bytes that are not UTF-8, past the JSON encoder.
			r.writeRaw(frame([]byte("{\"type\":\"heartbeat\",\"heartbeat\":{\"metrics\":{\"start\":\"y\",\"apps\":[{\"app\":\"evil\xff\",\"requests\":1}]," +
				"\"sign_on\":[{\"plugin\":\"\xc3\x28\",\"failures\":1}]}}}")))
			s := r.sync(t, m.Start)
			n, bad := labelsOK(s, r.id)
			if bad != "" {
				return bad, false
			}
			if v := s.value("gatehouse_connector_backend_requests_total", map[string]string{"connector": r.id, "app": "evil"}); v != 5 {
				return fmt.Sprintf("the configured app evil counted %v, want 5 (the same snapshot sent twice)", v), false
			}
			return fmt.Sprintf("%d series of the connector, all with configured labels; evil counted 5 (sent twice); %s", n, healthy(t)), true
		})
	hostile(t, "reports", "one heartbeat naming 10,000 apps, 10,000 plug-ins and 10,000 error kinds",
		"at most apps×7 + plug-ins×4 series of the group's config (here 2×7+1×4 = 18)", func(t *testing.T) (string, bool) {
			r := newReporter(t, g, "evil", tunnel.Ready{})
			m := &tunnel.ConnectorMetrics{Start: "card"}
			errs := map[string]uint64{}
			named := map[string]bool{}
			for i := range 10000 {
				a, p, k := fmt.Sprintf("app-%d", i), fmt.Sprintf("plugin-%d", i), fmt.Sprintf("kind-%d", i)
				named[a], named[p], named[k] = true, true, true
				m.Apps = append(m.Apps, tunnel.AppMetrics{App: a, Requests: 1})
				m.SignOn = append(m.SignOn, tunnel.PluginMetrics{Plugin: p, Failures: 1})
				errs[k] = 1
			}
			m.Apps = append(m.Apps, tunnel.AppMetrics{App: "evil", Requests: 1, Errors: errs},
				tunnel.AppMetrics{App: "evilsso", Requests: 1})
			b, _ := json.Marshal(tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &tunnel.Heartbeat{Metrics: m}})
			if len(b) > tunnel.MaxFrame {
				t.Fatalf("the heartbeat is %d bytes, over the frame limit: the case would test that instead", len(b))
			}
			r.beat(t, m)
			s := r.sync(t, "card")
			n, bad := labelsOK(s, r.id)
			named0 := s.labelledWith(named)
			obs := fmt.Sprintf("%d-byte heartbeat: %d series of the connector, %d anywhere with a name it sent", len(b), n, named0)
			return obs + "; " + bad + healthy(t), bad == "" && n <= 18 && named0 == 0
		})
}

// labelledWith counts the series, of any family, with a label value in names.
func (s scrape) labelledWith(names map[string]bool) int {
	n := 0
	for _, mf := range s {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if names[l.GetValue()] {
					n++
					break
				}
			}
		}
	}
	return n
}

func hostileReportOversized(t *testing.T, g *adminGateway, healthy func(*testing.T) string) {
	big := func(typ string) []byte {
		pad := strings.Repeat("A", tunnel.MaxFrame)
		if typ == tunnel.MsgReady {
			return []byte(`{"type":"ready","ready":{"config_version":1,"sign_on":{"plugins":[{"name":"` + pad + `"}]}}}`)
		}
		return []byte(`{"type":"heartbeat","heartbeat":{"metrics":{"start":"big","apps":[{"app":"` + pad + `"}]}}}`)
	}
	for _, typ := range []string{tunnel.MsgHeartbeat, tunnel.MsgReady} {
		hostile(t, "reports", fmt.Sprintf("a %s frame beyond the 1 MiB frame limit", typ),
			"that session closed, 'frame larger than 1 MiB' logged; another hostile session and the real connector go on", func(t *testing.T) (string, bool) {
				other := newReporter(t, g, "evil", tunnel.Ready{})
				var e *evilConnector
				if typ == tunnel.MsgHeartbeat {
					e = newReporter(t, g, "evil", tunnel.Ready{}).evilConnector
				} else {
					cert, pool, id := enrollCert(t, g.gatewayProc, "evil")
					e = evilSession(t, g.gatewayProc, cert, pool, id, false)
					e.send(t, tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "evil", Hostname: "evil"}})
					go func() { _, _ = io.Copy(io.Discard, e.control) }()
				}
				b := big(typ)
				go e.writeRaw(frame(b)) // the gateway stops reading: the write may block until the session ends
				requireSessionClosed(t, e)
				lines := g.log().waitLines(t, "the oversized frame logged", 1, "control stream failed", "frame larger than 1 MiB", "connector="+e.id)
				other.sync(t, "other")
				if other.mux.IsClosed() {
					return "the other hostile session was closed too", false
				}
				msg := lines[0][max(0, strings.Index(lines[0], "error=")):]
				return fmt.Sprintf("%d-byte %s: closed, logged %s; the other session still reports; %s", len(b), typ, clip(msg, 70), healthy(t)), true
			})
	}
}

func hostileReportSignOn(t *testing.T, g *adminGateway, c *http.Client, rec *recorder, healthy func(*testing.T) string) {
	const script, img = "<script>alert(1)</script>", `<img src=x onerror=alert(2)>`
	hostile(t, "reports", "ready lists other groups' sign-on apps as Accepted; <script> in plug-in, app, refusal names",
		"those apps never routed to it (backend sees the real connector's only); API and console show the names escaped", func(t *testing.T) (string, bool) {
			r := newReporter(t, g, "evil", tunnel.Ready{SignOn: &tunnel.SignOnReport{
				Plugins:  []tunnel.PluginInfo{{Name: script, Builtin: true}, {Name: "header", Builtin: true}, {Name: "</td></tr></table>" + img, SHA256: "\x1b[31m" + script}},
				Accepted: []string{"sso", "lonely", "app", "evilsso", script},
				Refused:  []tunnel.SignOnRefusal{{App: img, Plugin: script, Field: "</span>" + script, Message: "\n<b>" + script}},
			}})
			served := r.answerWith([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"))
			n := rec.count()
			for i := range 10 {
				if resp := getWith(t, c, fmt.Sprintf("https://sso.localhost/mine-%d", i), "X-Api-Key", hdrKey); resp.Status != 200 || resp.Body == "evil" {
					return fmt.Sprintf("sso answered %d %q", resp.Status, resp.Body), false
				}
			}
			lonely := getWith(t, c, "https://lonely.localhost/x", "X-Api-Key", hdrKey)
			got := rec.since(n)
			if len(got) != 10 || served.get() != 0 || lonely.Status != http.StatusServiceUnavailable {
				return fmt.Sprintf("backend got %d of 10, evil connector served %d, lonely %d", len(got), served.get(), lonely.Status), false
			}
			for _, q := range got {
				if q.Header.Get("X-Remote-User") != "alice" {
					return fmt.Sprintf("backend got %s with X-Remote-User %q", q.URI, q.Header.Get("X-Remote-User")), false
				}
			}
			code, api := adminGet(t, g.admin, "/api/v1/connectors")
			seen := apiConnectorOf(t, g.admin, r.id)
			_, page := adminGet(t, g.admin, "/")
			for _, raw := range []string{"<script", "<img", "</td></tr></table>", "\x1b"} {
				if strings.Contains(api, raw) || strings.Contains(page, raw) && raw != "</td></tr></table>" {
					return fmt.Sprintf("%q unescaped in the API (%d) or the console", raw, code), false
				}
			}
			if strings.Count(page, "</table>") != strings.Count(page, "<table") {
				return "the console's tables do not balance: a name closed one", false
			}
			if !slices.Contains(seen.pluginNames(), script) || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				return fmt.Sprintf("the report is not shown (API plug-ins %q)", seen.pluginNames()), false
			}
			return fmt.Sprintf("sso 10/10 to the real connector (X-Remote-User alice), evil served 0, lonely 503; API and console escape the names; %s", healthy(t)), true
		})
}

func hostileReportFlood(t *testing.T, g *adminGateway, c *http.Client, healthy func(*testing.T) string) {
	hostile(t, "reports", "heartbeats with metrics as fast as the tunnel takes them, for 3 s",
		"every one counted, the good app serves during it, store touches ≤ 1/s per session", func(t *testing.T) (string, bool) {
			r := newReporter(t, g, "evil", tunnel.Ready{})
			touches := func() float64 {
				v := scrapeMetrics(t, g.admin).value("gatehouse_store_seconds", map[string]string{"op": "TouchConnector"})
				if v < 0 {
					t.Fatal(`/metrics has no gatehouse_store_seconds{op="TouchConnector"}`)
				}
				return v
			}
			before := touches()
			// The flood lasts a few touch intervals (1 s), so that the
			// bound on store writes is exercised; at least 20,000.
			n := uint64(0)
			start := time.Now()
			done := make(chan error, 1)
			go func() {
				for i := uint64(1); i <= 20000 || (time.Since(start) < 3*time.Second && i <= 400000); i++ {
					n = i
					r.wmu.Lock()
					err := tunnel.WriteFrame(r.control, tunnel.Message{Type: tunnel.MsgHeartbeat, Heartbeat: &tunnel.Heartbeat{Metrics: evilApp("flood", i)}})
					r.wmu.Unlock()
					if err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			served := 0
			for flooding := true; flooding; {
				select {
				case err := <-done:
					if err != nil {
						return "the flood's session ended: " + err.Error(), false
					}
					flooding = false
				default:
					if resp := get(t, c, fmt.Sprintf("https://app.localhost/flood-%d", served)); resp.Status != 200 {
						return fmt.Sprintf("the good app answered %d during the flood", resp.Status), false
					}
					served++
				}
			}
			s := r.sync(t, "flood")
			elapsed := time.Since(start)
			got := s.value("gatehouse_connector_backend_requests_total", map[string]string{"connector": r.id, "app": "evil"})
			// Two sessions touch (this one and the real connector's),
			// each at most once a second, plus the sweep's own.
			writes := touches() - before
			bound := 2*math.Ceil(elapsed.Seconds()+1) + 2
			obs := fmt.Sprintf("%d heartbeats in %s, counted %v; %d good requests served during it; %v TouchConnector calls in all (bound %v)",
				n, elapsed.Round(time.Millisecond), got, served, writes, bound)
			return obs + "; " + healthy(t), got == float64(n) && served > 0 && writes >= 1 && writes <= bound
		})
}
