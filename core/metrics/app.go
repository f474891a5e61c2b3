package metrics

import (
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/core/console"
)

// App is one app's request metrics: a request costs a few atomic
// operations on the App's own counters (a bucket and the sum of each
// histogram; no label lookup) and no allocation; a scrape reads them
// (requests.go). It implements proxy.Observer.
type App struct {
	name     string
	created  time.Time
	inFlight atomic.Int64
	in, out  atomic.Uint64 // body bytes
	requests [len(methodNames)][len(codeNames)]atomic.Uint64
	duration histogram
	gateway  histogram
	backend  histogram
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
	a := &App{name: name, created: time.Now(), rate: m.rates.App(name)}
	a.duration.bounds, a.gateway.bounds, a.backend.bounds = backendBuckets, gatewayBuckets, backendBuckets
	m.apps[name] = a
	m.appList = append(m.appList, a)
	return a
}

// Start counts a request in flight.
func (a *App) Start() { a.inFlight.Add(1) }

// Finish records a request that Start counted, which ended at end: its
// method, final status, body bytes in and out, whole time, time at the
// gateway before it left for a connector, and time to the response head
// (0: it never left).
func (a *App) Finish(end time.Time, method string, status int, in, out int64, total, gateway, backend time.Duration) {
	a.inFlight.Add(-1)
	a.requests[methodClass(method)][codeClass(status)].Add(1)
	a.rate.Add(end, status)
	a.duration.observe(total)
	a.gateway.observe(gateway)
	if backend > 0 {
		a.backend.observe(backend)
	}
	if in > 0 {
		a.in.Add(uint64(in))
	}
	if out > 0 {
		a.out.Add(uint64(out))
	}
}
