package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// loadResult is one GET of the steady load.
type loadResult struct {
	start, end time.Time
	ok         bool
	reason     string // why it failed
}

// clusterLoad is a few goroutines GETting the app through HAProxy without
// pause (10 ms between a worker's requests, so the two-core machine keeps
// room for the nodes), every result kept with its start and end.
type clusterLoad struct {
	mu   sync.Mutex
	res  []loadResult
	stop func() // stops the workers and waits for them; safe to call twice
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// startClusterLoad starts workers GETting https://app.localhost/hit,
// worker w through clients[w % len(clients)]; stop is also registered
// with t.Cleanup.
func startClusterLoad(t *testing.T, clients []*http.Client, workers int) *clusterLoad {
	l := &clusterLoad{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				l.add(getOnce(ctx, clients[w%len(clients)], fmt.Sprintf("w=%d&i=%d", w, i)))
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	l.stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(l.stop)
	return l
}

// getOnce is one GET with a 10 s limit; the answer must be the backend's.
func getOnce(ctx context.Context, c *http.Client, query string) loadResult {
	res := loadResult{start: time.Now()}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, "https://"+clusterAppHost+"/hit?"+query, nil)
	resp, err := c.Do(req)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
		case resp.StatusCode != http.StatusOK:
			res.reason = fmt.Sprintf("%d %s", resp.StatusCode, short(string(b), 80))
		case string(b) != "hit "+query:
			res.reason = fmt.Sprintf("wrong body %q", short(string(b), 80))
		default:
			res.ok = true
		}
	}
	if err != nil {
		res.reason = err.Error()
	}
	res.end = time.Now()
	if ctx.Err() != nil && !res.ok { // stopped by the test, not a failure
		res.reason = "stopped"
	}
	return res
}

func (l *clusterLoad) add(r loadResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res = append(l.res, r)
}

// snapshot returns the results so far, in start order.
func (l *clusterLoad) snapshot() []loadResult {
	l.mu.Lock()
	out := append([]loadResult(nil), l.res...)
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// window counts the requests started in [from, to) (to zero = no end):
// successes, failures and the first few failure reasons.
func (l *clusterLoad) window(from, to time.Time) (ok, failed int, reasons []string) {
	for _, r := range l.snapshot() {
		if r.start.Before(from) || (!to.IsZero() && !r.start.Before(to)) || r.reason == "stopped" {
			continue
		}
		if r.ok {
			ok++
			continue
		}
		failed++
		if len(reasons) < 5 {
			reasons = append(reasons, fmt.Sprintf("+%v: %s", r.start.Sub(from).Round(time.Millisecond), r.reason))
		}
	}
	return ok, failed, reasons
}

// inFlight counts the requests started before at that ended after it,
// and how many of them failed.
func (l *clusterLoad) inFlight(at time.Time) (n, failed int) {
	for _, r := range l.snapshot() {
		if r.start.Before(at) && r.end.After(at) && r.reason != "stopped" {
			n++
			if !r.ok {
				failed++
			}
		}
	}
	return n, failed
}

// recovery looks at the requests started after at: it returns the time
// from at to the start of the first success after which every request
// started succeeded, and how many such requests failed. ok is false until
// at least n requests in a row succeeded after the last failure.
func (l *clusterLoad) recovery(at time.Time, n int) (d time.Duration, failed int, ok bool) {
	var after []loadResult
	for _, r := range l.snapshot() {
		if !r.start.Before(at) && r.reason != "stopped" {
			after = append(after, r)
		}
	}
	last := -1
	for i, r := range after {
		if !r.ok {
			last, failed = i, failed+1
		}
	}
	if len(after)-(last+1) < n {
		return 0, failed, false
	}
	return after[last+1].start.Sub(at), failed, true
}

// waitOK waits until n requests started after at succeeded.
func (l *clusterLoad) waitOK(t *testing.T, what string, at time.Time, n int) {
	t.Helper()
	eventually(t, what, func() bool {
		ok, _, _ := l.window(at, time.Time{})
		return ok >= n
	})
}

// clusterRow is one line of the summary TestCluster prints.
type clusterRow struct{ What, Bound, Observed string }

// clusterSummary collects the rows; print writes them as a table.
type clusterSummary struct {
	mu   sync.Mutex
	rows []clusterRow
}

func (s *clusterSummary) add(what, bound, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, clusterRow{what, bound, fmt.Sprintf(format, args...)})
}

// run runs f as subtest name; should it fail before adding a row, a
// FAILED row says so in the table.
func (s *clusterSummary) run(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	s.mu.Lock()
	before := len(s.rows)
	s.mu.Unlock()
	t.Run(name, func(t *testing.T) {
		defer func() {
			s.mu.Lock()
			added := len(s.rows) > before
			s.mu.Unlock()
			if t.Failed() && !added {
				s.add(name, "-", "FAILED (see the test log)")
			}
		}()
		f(t)
	})
}

func (s *clusterSummary) print() {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\nCLUSTER (3 nodes + 1 later, PostgreSQL, HAProxy, 2 connectors)")
	fmt.Fprintln(w, "measure\tbound\tobserved")
	fmt.Fprintln(w, strings.Repeat("-", 7)+"\t"+strings.Repeat("-", 5)+"\t"+strings.Repeat("-", 8))
	for _, r := range s.rows {
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.What, r.Bound, r.Observed)
	}
	_ = w.Flush()
}
