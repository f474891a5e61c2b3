package metrics

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The request metrics (gatehouse_request*) are not client-library vectors:
// each App keeps its counts in plain atomics and appCollector turns them
// into the same series at each scrape. A library histogram costs four
// atomic read-modify-writes per observation (its hot/cold swap, bucket,
// count, and a compare-and-swap loop for the sum) and a gauge a
// compare-and-swap loop per change, on cache lines that both CPUs' requests
// fight over; here an observation is a bucket increment and the sum, the
// count being the buckets' total.

const maxBuckets = 16 // len(backendBuckets)+1 at most: the last is +Inf

// histogram is one app's histogram of durations, in seconds.
type histogram struct {
	bounds  []float64 // upper bounds, ascending, without +Inf
	counts  [maxBuckets]atomic.Uint64
	sumBits atomic.Uint64 // float64 seconds
}

func (h *histogram) observe(d time.Duration) {
	v := d.Seconds()
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] { // short: most requests land in the first buckets
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// snapshot is the histogram as Prometheus has it: the count, the sum and
// the cumulative count of each bound.
func (h *histogram) snapshot() (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(h.bounds))
	for i, le := range h.bounds {
		count += h.counts[i].Load()
		buckets[le] = count
	}
	count += h.counts[len(h.bounds)].Load()
	return count, math.Float64frombits(h.sumBits.Load()), buckets
}

var (
	descRequests = prometheus.NewDesc(ns+"_requests_total", "Requests routed to an app, by method and status class.", []string{"app", "method", "code"}, nil)
	descDuration = prometheus.NewDesc(ns+"_request_duration_seconds", "Whole requests at the gateway, response body included.", []string{"app"}, nil)
	descGateway  = prometheus.NewDesc(ns+"_request_gateway_seconds", "Time at the gateway before a request left for a connector (all of it for requests the gateway answered).", []string{"app"}, nil)
	descBackend  = prometheus.NewDesc(ns+"_request_backend_seconds", "From leaving for a connector to the response head: tunnel, connector and backend.", []string{"app"}, nil)
	descBytesIn  = prometheus.NewDesc(ns+"_request_bytes_total", "Request body bytes read from clients.", []string{"app"}, nil)
	descBytesOut = prometheus.NewDesc(ns+"_response_bytes_total", "Response body bytes written to clients.", []string{"app"}, nil)
	descInFlight = prometheus.NewDesc(ns+"_requests_in_flight", "Requests being served.", []string{"app"}, nil)
)

// appCollector exports the request metrics of every App of m: each app's
// histograms, byte counters and gauge from its creation, and a requests
// counter for each method and status class it has served.
type appCollector struct{ m *Metrics }

func (c appCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descDuration, descGateway, descBackend, descBytesIn, descBytesOut, descInFlight} {
		ch <- d
	}
}

func (c appCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	apps := c.m.appList[:len(c.m.appList):len(c.m.appList)]
	c.m.mu.Unlock()
	for _, a := range apps {
		for mi := range a.requests {
			for ci := range a.requests[mi] {
				if n := a.requests[mi][ci].Load(); n > 0 {
					ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(descRequests, prometheus.CounterValue, float64(n), a.created, a.name, methodNames[mi], codeNames[ci])
				}
			}
		}
		for _, h := range []struct {
			d *prometheus.Desc
			h *histogram
		}{{descDuration, &a.duration}, {descGateway, &a.gateway}, {descBackend, &a.backend}} {
			count, sum, buckets := h.h.snapshot()
			ch <- prometheus.MustNewConstHistogramWithCreatedTimestamp(h.d, count, sum, buckets, a.created, a.name)
		}
		ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(descBytesIn, prometheus.CounterValue, float64(a.in.Load()), a.created, a.name)
		ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(descBytesOut, prometheus.CounterValue, float64(a.out.Load()), a.created, a.name)
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(a.inFlight.Load()), a.name)
	}
}
