package signin

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// The sign-in log is for what someone can be held to. Requests from
// nobody in particular (no credentials, a wrong API key, a refused bearer
// token, a replayed sign-in state) cost a client nothing to send, so
// storing a row for each would let anyone grow the store without bound.
// They are counted per app and outcome instead, and the counts logged at
// most once a minute. Records of identified users are stored, but an
// identical one (same app, user, outcome, reason and address) at most once
// a minute: an API client that signs in with every request leaves one row
// a minute, not one a request.

// logEvery is how often the counts of unidentified outcomes are logged,
// and the window in which identical records are stored once.
const logEvery = time.Minute

// maxRecent bounds the identical-record filter's memory.
const maxRecent = 10000

// tally counts the outcomes of unidentified requests since the last log
// line.
type tally struct {
	mu     sync.Mutex
	counts map[string]int // "app result" → how many
	since  time.Time      // the last line; zero before the first
}

// add counts one outcome at now and returns the counts to log, with the
// time they start from, once logEvery has passed since the last line.
func (t *tally) add(key string, now time.Time) (counts map[string]int, since time.Time, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[key]++
	if !t.since.IsZero() && now.Sub(t.since) < logEvery {
		return nil, time.Time{}, false
	}
	counts, since = t.counts, t.since
	t.counts, t.since = nil, now
	return counts, since, true
}

// unidentified counts an outcome of nobody in particular (in the
// metrics too, with reason when it is a refusal) and logs the counts at
// most once a minute.
func (a *App) unidentified(result, reason string) {
	a.count(result, reason)
	counts, since, ok := a.Gate.tally.add(a.Name+" "+result, a.Gate.Now())
	if !ok {
		return
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		app, res, _ := strings.Cut(k, " ")
		b.WriteString(app + "/" + res + "=" + strconv.Itoa(counts[k]))
	}
	args := []any{"counts", b.String()}
	if !since.IsZero() {
		args = append(args, "since", since.UTC().Format(time.RFC3339))
	}
	a.Gate.Logger.Info("sign-in log: requests without an identity, counted not stored", args...)
}

// recent remembers when each distinct sign-in record was last stored.
type recent struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// first reports whether s should be stored: no identical record was
// stored in the last minute.
func (c *recent) first(s store.SignIn) bool {
	key := recentKey(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.m[key]; ok && s.At.Sub(at) < logEvery && !s.At.Before(at) {
		return false
	}
	if len(c.m) >= maxRecent {
		for k, at := range c.m {
			if s.At.Sub(at) >= logEvery {
				delete(c.m, k)
			}
		}
	}
	if c.m == nil || len(c.m) >= maxRecent {
		c.m = map[string]time.Time{} // every entry is recent: forget them
	}
	c.m[key] = s.At
	return true
}

// forget drops s, whose record could not be stored (the store failed),
// so that the next identical record is stored rather than skipped.
func (c *recent) forget(s store.SignIn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, recentKey(s))
}

func recentKey(s store.SignIn) string {
	return strings.Join([]string{s.App, s.Subject, s.Result, s.Reason, s.ClientIP, s.Device}, "\x00")
}
