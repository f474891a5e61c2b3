package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// Readiness: a node is ready once its config is loaded (ListenAdmin
// takes a loaded one), its state was loaded from the store (New: keys,
// connector CA) and its listeners serve (Serve). It stays ready through
// a store outage, reported as degraded: a database blip must not empty a
// load balancer, and sessions go on meanwhile. Nothing cluster-wide
// counts: a connector group without a connector is group health (the
// API, the metrics), not readiness.
type readiness struct {
	mu         sync.Mutex
	state      bool
	listening  bool
	stopping   bool
	storeErr   string    // the last store probe's failure; "" when it passed
	storeSince time.Time // when the store began failing
}

// readyState is a copy of readiness, taken under its lock.
type readyState struct {
	state, listening, stopping bool
	storeErr                   string
	storeSince                 time.Time
}

func (r *readiness) set(f func(*readiness)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *readiness) snapshot() readyState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return readyState{r.state, r.listening, r.stopping, r.storeErr, r.storeSince}
}

func (s readyState) ready() bool { return s.state && s.listening && !s.stopping }

// readyBody is /readyz's answer.
type readyBody struct {
	// Status is "ready", "degraded" (ready, with Degraded saying why) or
	// "not ready" (Missing says what is missing).
	Status   string            `json:"status"`
	Checks   map[string]string `json:"checks"` // "ok" or what is wrong
	Missing  []string          `json:"missing,omitempty"`
	Degraded []string          `json:"degraded,omitempty"`
}

func (s readyState) body() readyBody {
	b := readyBody{Checks: map[string]string{"config": "ok", "state": "ok", "listeners": "ok", "store": "ok"}}
	miss := func(check, what string) {
		b.Checks[check] = what
		b.Missing = append(b.Missing, check+": "+what)
	}
	if !s.state {
		miss("state", "not loaded from the store yet")
	}
	if !s.listening {
		miss("listeners", "the public and tunnel listeners are not serving yet")
	}
	if s.stopping {
		miss("listeners", "the gateway is shutting down")
	}
	if s.storeErr != "" {
		b.Checks["store"] = "failing since " + s.storeSince.UTC().Format(time.RFC3339) + ": " + s.storeErr
		b.Degraded = append(b.Degraded, "store: "+b.Checks["store"])
	}
	switch {
	case !s.ready():
		b.Status = "not ready"
	case len(b.Degraded) > 0:
		b.Status = "degraded"
	default:
		b.Status = "ready"
	}
	return b
}

func (a *Admin) serveReady(w http.ResponseWriter, _ *http.Request) {
	s := a.ready.snapshot()
	code := http.StatusOK
	if !s.ready() {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, a.readyBody(s))
}

// readyBody is s.body() with the change feed's health: a node that
// cannot follow it serves from its last known state, degraded.
func (a *Admin) readyBody(s readyState) readyBody {
	b := s.body()
	g := a.gw.Load()
	if g == nil {
		return b
	}
	if d := g.storeDegraded(); d != "" {
		b.Checks["changes"] = d
		b.Degraded = append(b.Degraded, "changes: "+d)
		if b.Status == "ready" {
			b.Status = "degraded"
		}
	} else {
		b.Checks["changes"] = "ok"
	}
	return b
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// The store probe: a write (a lock of this process, taken again each
// time) every probeEvery, and at once after a failed store call, at most
// once per probeGap.
const (
	probeEvery   = 5 * time.Second // Admin.probeEvery; tests shorten it
	probeGap     = time.Second
	probeTimeout = 10 * time.Second // SQLite waits up to 5 s for a busy file
	probeHold    = time.Minute      // the lock's expiry; the sweep deletes it an hour later
)

func (a *Admin) probeLoop(st store.Store, now func() time.Time) {
	defer a.probing.Done()
	t := time.NewTicker(a.probeEvery)
	defer t.Stop()
	for {
		a.probe(st, now())
		select {
		case <-a.done:
			return
		case <-t.C:
		case <-a.kick:
			select { // not more often than probeGap
			case <-a.done:
				return
			case <-time.After(probeGap):
			}
		}
	}
}

// probe writes to the store at now (the gateway's clock, as every lock)
// and records the outcome; a change is logged.
func (a *Admin) probe(st store.Store, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	ok, err := st.TryLock(ctx, "health/"+a.node, a.node, now, now.Add(probeHold))
	if err == nil && !ok {
		err = errors.New("the probe's own lock is held by another owner")
	}
	var was string
	a.ready.set(func(r *readiness) {
		was = r.storeErr
		switch {
		case err == nil:
			r.storeErr = ""
		case r.storeErr == "":
			r.storeErr, r.storeSince = err.Error(), now
		default:
			r.storeErr = err.Error()
		}
	})
	a.metrics.SetStoreUp(err == nil)
	switch {
	case err != nil && was == "":
		a.log.Warn("store unavailable: the write probe failed; /readyz reports degraded", "error", err)
	case err == nil && was != "":
		a.log.Info("store available again: the write probe passed; /readyz no longer degraded")
	}
}

// storeFailed is called after any failed store call: while the store
// passes its probe, it asks for a probe now.
func (a *Admin) storeFailed() {
	if a == nil || a.ready.snapshot().storeErr != "" {
		return
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
}
