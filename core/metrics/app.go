package metrics

import (
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/console"
	"github.com/prometheus/client_golang/prometheus"
)

// App is one app's request metrics, resolved once: a request costs a few
// atomic operations and no allocation. It implements proxy.Observer.
type App struct {
	vec      *prometheus.CounterVec
	name     string
	requests [len(methodNames)][len(codeNames)]atomic.Pointer[prometheus.Counter]
	duration prometheus.Observer
	gateway  prometheus.Observer
	backend  prometheus.Observer
	in, out  prometheus.Counter
	inFlight prometheus.Gauge
	rate     *console.AppRate
}

// Method and status classes: the standard methods, and every other
// method as "other" (a client chooses the method: it must not choose
// new series); status classes 1xx to 5xx.
var (
	methodNames = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
	codeNames   = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}
)

func methodClass(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "PATCH":
		return 4
	case "DELETE":
		return 5
	case "OPTIONS":
		return 6
	}
	return 7
}

func codeClass(status int) int {
	return min(max(status/100, 1), 5) - 1
}

// App returns the request metrics of app (the same *App for the same
// name, across reloads); nil when m is nil.
func (m *Metrics) App(name string) *App {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.apps[name]; a != nil {
		return a
	}
	a := &App{vec: m.requests, name: name,
		duration: m.duration.WithLabelValues(name), gateway: m.gateway.WithLabelValues(name),
		backend: m.backend.WithLabelValues(name),
		in:      m.bytesIn.WithLabelValues(name), out: m.bytesOut.WithLabelValues(name),
		inFlight: m.inFlight.WithLabelValues(name), rate: m.rates.App(name)}
	m.apps[name] = a
	return a
}

// Start counts a request in flight.
func (a *App) Start() { a.inFlight.Inc() }

// Finish records a request that Start counted, which ended at end: its
// method, final status, body bytes in and out, whole time, time at the
// gateway before it left for a connector, and time to the response head
// (0: it never left).
func (a *App) Finish(end time.Time, method string, status int, in, out int64, total, gateway, backend time.Duration) {
	a.inFlight.Dec()
	a.counter(methodClass(method), codeClass(status)).Inc()
	a.rate.Add(end, status)
	a.duration.Observe(total.Seconds())
	a.gateway.Observe(gateway.Seconds())
	if backend > 0 {
		a.backend.Observe(backend.Seconds())
	}
	if in > 0 {
		a.in.Add(float64(in))
	}
	if out > 0 {
		a.out.Add(float64(out))
	}
}

// counter is the requests counter of a method and status class, created
// at its first use (so an app shows only the series it has).
func (a *App) counter(mi, ci int) prometheus.Counter {
	p := &a.requests[mi][ci]
	if c := p.Load(); c != nil {
		return *c
	}
	c := a.vec.WithLabelValues(a.name, methodNames[mi], codeNames[ci])
	p.Store(&c) // a racing store holds the same child
	return c
}
