// Package metrics defines every Prometheus metric the gateway exports on
// its admin listener (/metrics), with the Go client library. Components
// get a *Metrics (nil: metrics off, and every method does nothing) and
// update it through methods that cost a few atomic operations on the
// request path: each app's series are resolved once and kept.
//
// Labels are bounded by the config and the enrolled connectors: app,
// group, plugin, filter, host (published hosts only), connector, the
// store operation, a method class, a status class, a sign-in result and
// a denial reason from a fixed list. Never a user, a path or an address.
//
// Requests (apps routed by the public listener):
//
//	gatehouse_requests_total{app,method,code}          counter; method: GET HEAD POST PUT PATCH DELETE OPTIONS other; code: 1xx..5xx
//	gatehouse_request_duration_seconds{app}            histogram; the whole request at the gateway, response body included
//	gatehouse_request_gateway_seconds{app}             histogram; time at the gateway before the request left for a connector (routing, sign-in, access, filters); a request the gateway answered itself: all of it
//	gatehouse_request_backend_seconds{app}             histogram; from leaving for a connector to the response head (tunnel, connector, backend, retries)
//	gatehouse_request_bytes_total{app}                 counter; request body bytes read from clients
//	gatehouse_response_bytes_total{app}                counter; response body bytes written to clients (upgraded connections not counted)
//	gatehouse_requests_in_flight{app}                  gauge
//
// Connectors and groups (this node's view, at each scrape):
//
//	gatehouse_connectors{group,state}                  gauge; state: active, inactive (heartbeats missed), draining
//	gatehouse_connector_group_up{group}                gauge; 1 when a group that an app uses has an active connector here
//	gatehouse_tunnel_sessions{connector,group}         gauge; attached tunnel sessions
//	gatehouse_connector_streams_in_flight{connector,group} gauge; requests on the connector's streams
//	gatehouse_tunnel_sessions_opened_total{connector,group} counter; sessions attached since start (its rate: reconnects)
//	gatehouse_tunnel_rtt_seconds{connector,group}      gauge; the latest round trip on the connector's tunnel (a yamux ping per session every heartbeat interval); absent until measured
//
// Connectors' own metrics, from their heartbeats (reports.go):
//
//	gatehouse_connector_backend_requests_total{connector,group,app}    counter
//	gatehouse_connector_backend_errors_total{connector,group,app,kind} counter; kind: dial, timeout, tls, other, 5xx
//	gatehouse_connector_backend_duration_seconds{connector,group,app}  histogram; to the response head
//	gatehouse_connector_signon_failures_total{connector,group,plugin}  counter
//	gatehouse_connector_plugin_restarts_total{connector,group,plugin}  counter
//	gatehouse_connector_signon_calls_total{connector,group,plugin}     counter
//	gatehouse_connector_signon_reused_total{connector,group,plugin}    counter
//
// Sign-in:
//
//	gatehouse_signins_total{app,result}                counter; result: signed_in, redirected, challenged, no_credentials, denied, failed
//	gatehouse_signin_denials_total{app,reason}         counter; reason: an access rule (access.groups, access.block_ips, ...), revoked, challenged, no_credentials, replayed_state, expired_state, session_error
//
// Plug-ins, filters, certificates, store:
//
//	gatehouse_plugin_calls_total{plugin,app,method,result} counter; result: ok, error
//	gatehouse_plugin_call_seconds{plugin,method}       histogram
//	gatehouse_plugin_restarts_total{plugin,app}        counter
//	gatehouse_wasm_filter_seconds{app,filter}          histogram; time in the guest per call (handle_request, handle_response)
//	gatehouse_wasm_filter_traps_total{app,filter}      counter; guest calls that trapped or ran out of time
//	gatehouse_certificate_expiry_timestamp_seconds{host} gauge; NotAfter of the certificate last served for a published host
//	gatehouse_store_seconds{op}                        histogram; each store call (op: the store.Store method)
//	gatehouse_store_errors_total{op}                   counter; failed store calls (not found and already-exists answers are not failures)
//	gatehouse_store_up                                 gauge; 1 while the store took the latest write probe
//	gatehouse_ready                                    gauge; 1 when /readyz answers 200 (degraded included)
//	gatehouse_build_info{version}                      gauge; always 1
//
// And the Go runtime's and the process's (go_*, process_*), from the
// client library's standard collectors.
package metrics

import (
	"net/http"
	"sync"

	"github.com/gatehouse/gatehouse/core/console"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const ns = "gatehouse"

// Buckets: the time at the gateway is mostly well under a millisecond;
// backend and total times run up to the backend timeout.
var (
	gatewayBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	backendBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	callBuckets    = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}
)

// Metrics is one gateway's metrics, in a registry of its own (several
// gateways can live in one test process). A nil *Metrics is valid: its
// methods do nothing.
type Metrics struct {
	reg *prometheus.Registry

	signins, denials *prometheus.CounterVec

	pluginCalls    *prometheus.CounterVec
	pluginSeconds  *prometheus.HistogramVec
	pluginRestarts *prometheus.CounterVec
	wasmSeconds    *prometheus.HistogramVec
	wasmTraps      *prometheus.CounterVec
	certExpiry     *prometheus.GaugeVec
	sessionsOpened *prometheus.CounterVec

	storeSeconds *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	storeUp      prometheus.Gauge
	ready        prometheus.Gauge

	connectors *connectorCollector
	reports    *reportCollector // connectors' own metrics (reports.go)
	rates      *console.Rates   // per-minute counts for the admin console's charts
	certs      *Certificates

	mu      sync.Mutex
	apps    map[string]*App
	appList []*App // apps in creation order, for scrapes (requests.go); only appended to
}

// New returns the metrics of one gateway, with the Go runtime and
// process collectors registered.
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), apps: map[string]*App{}, connectors: &connectorCollector{}, reports: &reportCollector{byID: map[string]*reporter{}}, rates: console.NewRates()}
	m.certs = &Certificates{m: m}
	m.signins = m.counter("signins_total", "Sign-in outcomes.", "app", "result")
	m.denials = m.counter("signin_denials_total", "Refused sign-ins and requests, by reason.", "app", "reason")
	m.pluginCalls = m.counter("plugin_calls_total", "Calls to plug-ins.", "plugin", "app", "method", "result")
	m.pluginSeconds = m.histogram("plugin_call_seconds", "Plug-in call time.", callBuckets, "plugin", "method")
	m.pluginRestarts = m.counter("plugin_restarts_total", "Plug-in processes restarted after a crash or a hang.", "plugin", "app")
	m.wasmSeconds = m.histogram("wasm_filter_seconds", "Time in a WASM filter's guest, per call.", callBuckets, "app", "filter")
	m.wasmTraps = m.counter("wasm_filter_traps_total", "WASM guest calls that trapped or ran out of time.", "app", "filter")
	m.certExpiry = m.gauge("certificate_expiry_timestamp_seconds", "NotAfter of the certificate last served for a published host.", "host")
	m.sessionsOpened = m.counter("tunnel_sessions_opened_total", "Tunnel sessions attached since start.", "connector", "group")
	m.storeSeconds = m.histogram("store_seconds", "Store call time.", callBuckets, "op")
	m.storeErrors = m.counter("store_errors_total", "Failed store calls.", "op")
	m.storeUp = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "store_up", Help: "1 while the store took the latest write probe."})
	m.ready = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "ready", Help: "1 when /readyz answers 200 (degraded included)."})
	info := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "build_info", Help: "The gateway's version.",
		ConstLabels: prometheus.Labels{"version": version}})
	info.Set(1)
	m.reg.MustRegister(appCollector{m}, m.storeUp, m.ready, info, m.connectors, m.reports,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) counter(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	return v
}

func (m *Metrics) gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	return v
}

func (m *Metrics) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, Buckets: buckets}, labels)
	m.reg.MustRegister(v)
	return v
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gatherer is the registry, for tests and for other exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Rates are the per-minute request and error counts of each app over the
// last hour, which the admin console charts (nil when m is nil).
func (m *Metrics) Rates() *console.Rates {
	if m == nil {
		return nil
	}
	return m.rates
}

// SetReady records whether /readyz answers 200.
func (m *Metrics) SetReady(ready bool) {
	if m != nil {
		m.ready.Set(b2f(ready))
	}
}

// SetStoreUp records the result of the latest store write probe.
func (m *Metrics) SetStoreUp(up bool) {
	if m != nil {
		m.storeUp.Set(b2f(up))
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
