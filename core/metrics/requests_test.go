package metrics

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// libraryApps is the request metrics as the client library's vectors
// keep them (as package metrics did before requests.go), to compare with.
type libraryApps struct {
	reg               *prometheus.Registry
	requests          *prometheus.CounterVec
	duration, gateway *prometheus.HistogramVec
	backend           *prometheus.HistogramVec
	bytesIn, bytesOut *prometheus.CounterVec
	inFlight          *prometheus.GaugeVec
}

func newLibraryApps() *libraryApps {
	l := &libraryApps{reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
		l.reg.MustRegister(v)
		return v
	}
	histogram := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, Buckets: buckets}, []string{"app"})
		l.reg.MustRegister(v)
		return v
	}
	l.requests = counter("requests_total", "Requests routed to an app, by method and status class.", "app", "method", "code")
	l.duration = histogram("request_duration_seconds", "Whole requests at the gateway, response body included.", backendBuckets)
	l.gateway = histogram("request_gateway_seconds", "Time at the gateway before a request left for a connector (all of it for requests the gateway answered).", gatewayBuckets)
	l.backend = histogram("request_backend_seconds", "From leaving for a connector to the response head: tunnel, connector and backend.", backendBuckets)
	l.bytesIn = counter("request_bytes_total", "Request body bytes read from clients.", "app")
	l.bytesOut = counter("response_bytes_total", "Response body bytes written to clients.", "app")
	l.inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "requests_in_flight", Help: "Requests being served."}, []string{"app"})
	l.reg.MustRegister(l.inFlight)
	return l
}

func (l *libraryApps) app(name string) {
	l.duration.WithLabelValues(name)
	l.gateway.WithLabelValues(name)
	l.backend.WithLabelValues(name)
	l.bytesIn.WithLabelValues(name)
	l.bytesOut.WithLabelValues(name)
	l.inFlight.WithLabelValues(name)
}

func (l *libraryApps) finish(app, method string, status int, in, out int64, total, gateway, backend time.Duration) {
	l.inFlight.WithLabelValues(app).Dec()
	l.requests.WithLabelValues(app, methodNames[methodClass(method)], codeNames[codeClass(status)]).Inc()
	l.duration.WithLabelValues(app).Observe(total.Seconds())
	l.gateway.WithLabelValues(app).Observe(gateway.Seconds())
	if backend > 0 {
		l.backend.WithLabelValues(app).Observe(backend.Seconds())
	}
	if in > 0 {
		l.bytesIn.WithLabelValues(app).Add(float64(in))
	}
	if out > 0 {
		l.bytesOut.WithLabelValues(app).Add(float64(out))
	}
}

// text is the families of g named gatehouse_request*, in the text
// exposition format.
func text(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), ns+"_request") {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b.String()
}

// TestAppMatchesClientLibrary: the request metrics scrape as the client
// library's vectors would show the same requests: every bucket edge,
// +Inf, each method and status class, bytes, requests in flight, and an
// app that served nothing.
func TestAppMatchesClientLibrary(t *testing.T) {
	m, l := New("v"), newLibraryApps()
	durations := []time.Duration{0, 1, 50 * time.Microsecond, 100 * time.Microsecond, 100*time.Microsecond + 1, time.Millisecond,
		2500 * time.Microsecond, 999 * time.Millisecond, time.Second, 59 * time.Second, time.Minute, time.Hour}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", ""}
	statuses := []int{0, 101, 200, 204, 302, 404, 499, 500, 503, 999}
	for _, name := range []string{"hr", "idle", "wiki"} {
		m.App(name)
		l.app(name)
	}
	i := 0
	for _, app := range []string{"hr", "wiki"} {
		for _, d := range durations {
			for k := range 3 {
				method, status := methods[i%len(methods)], statuses[i%len(statuses)]
				in, out := int64(i%4)*1000, int64(i%3)*77
				backend := d / time.Duration(k+1)
				if k == 2 {
					backend = 0
				}
				m.App(app).Start()
				l.inFlight.WithLabelValues(app).Inc()
				m.App(app).Finish(time.Now(), method, status, in, out, d, d/3, backend)
				l.finish(app, method, status, in, out, d, d/3, backend)
				i++
			}
		}
	}
	m.App("wiki").Start() // one still in flight
	l.inFlight.WithLabelValues("wiki").Inc()
	got, want := text(t, m.Gatherer()), text(t, l.reg)
	if got != want {
		t.Errorf("request metrics differ from the client library's:\n--- got\n%s\n--- want\n%s", got, want)
	}
	if !strings.Contains(got, `gatehouse_request_gateway_seconds_bucket{app="idle",le="+Inf"} 0`) {
		t.Errorf("an app that served nothing has no series:\n%s", got)
	}
}

// TestAppConcurrent: requests finishing on many goroutines at once, and
// scrapes meanwhile, lose no count.
func TestAppConcurrent(t *testing.T) {
	m := New("v")
	a := m.App("hr")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				a.Start()
				a.Finish(time.Now(), "GET", 200, 1, 2, time.Millisecond, time.Microsecond, time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := m.Gatherer().Gather(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	for _, c := range []struct {
		name string
		want float64
	}{{"gatehouse_requests_total", 8000}, {"gatehouse_request_duration_seconds", 8000}, {"gatehouse_request_backend_seconds", 8000},
		{"gatehouse_request_bytes_total", 8000}, {"gatehouse_response_bytes_total", 16000}, {"gatehouse_requests_in_flight", 0}} {
		if got := scrape(t, m, c.name, "app=hr"); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
}
