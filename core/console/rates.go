package console

import (
	"sync"
	"sync/atomic"
	"time"
)

// Minutes is how far back the console's charts go: one bucket a minute.
const Minutes = 60

// Rates keeps, for each app, how many requests it served and how many of
// them failed (5xx) in each of the last Minutes minutes, in memory: the
// console's charts need no Prometheus. A nil *Rates records nothing.
type Rates struct {
	mu   sync.Mutex
	apps map[string]*AppRate
}

// NewRates returns an empty set of rates.
func NewRates() *Rates { return &Rates{apps: map[string]*AppRate{}} }

// App returns app's rate (the same one for the same name); nil for a nil
// Rates.
func (r *Rates) App(name string) *AppRate {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.apps[name]
	if a == nil {
		a = &AppRate{}
		r.apps[name] = a
	}
	return a
}

// AppRate is one app's ring of per-minute counts. Add costs two or
// three atomic operations; a minute's bucket is cleared by the first
// request that lands in it after the ring came round.
type AppRate struct {
	buckets [Minutes]bucket
}

type bucket struct {
	minute   atomic.Int64 // Unix minute the counts are for
	requests atomic.Int64
	errors   atomic.Int64
	reset    sync.Mutex // taken only to start a new minute
}

// Add counts one request that ended at now with status.
func (a *AppRate) Add(now time.Time, status int) {
	if a == nil {
		return
	}
	m := now.Unix() / 60
	b := &a.buckets[m%Minutes]
	if b.minute.Load() != m {
		b.reset.Lock()
		if b.minute.Load() != m {
			b.requests.Store(0)
			b.errors.Store(0)
			b.minute.Store(m)
		}
		b.reset.Unlock()
	}
	b.requests.Add(1)
	if status >= 500 {
		b.errors.Add(1)
	}
}

// Point is one minute of an app's traffic.
type Point struct {
	Minute   time.Time
	Requests int64
	Errors   int64
}

// Series returns the last Minutes minutes up to now, oldest first; a
// minute without requests is a zero point.
func (a *AppRate) Series(now time.Time) []Point {
	out := make([]Point, Minutes)
	last := now.Unix() / 60
	for i := range out {
		m := last - int64(Minutes-1-i)
		out[i].Minute = time.Unix(m*60, 0).UTC()
		if a == nil {
			continue
		}
		b := &a.buckets[((m%Minutes)+Minutes)%Minutes]
		if b.minute.Load() == m {
			out[i].Requests, out[i].Errors = b.requests.Load(), b.errors.Load()
		}
	}
	return out
}

// Series returns app's series (all zero for an app that served nothing).
func (r *Rates) Series(app string, now time.Time) []Point {
	if r == nil {
		return (*AppRate)(nil).Series(now)
	}
	r.mu.Lock()
	a := r.apps[app]
	r.mu.Unlock()
	return a.Series(now)
}
