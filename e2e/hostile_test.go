package e2e

// The hostile suite: attacks on the gateway's one promise (only the
// signed-in user's own requests reach a backend, with an identity nobody
// can forge, and each user gets only their own responses), run against the
// real binaries. Every case is a subtest of a TestHostile… function,
// registered with hostile(): its class, what is expected, and what was
// observed, which each case reads off the backend (what it received), not
// only off the status the client saw. TestMain prints the table of all
// cases that ran; `make test-security` runs only this suite.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// hostileRow is one line of the printed table.
type hostileRow struct {
	Class, Case, Expected, Observed string
	Pass                            bool
}

var hostileRows struct {
	sync.Mutex
	rows []hostileRow
}

// hostile runs one case as a subtest of t. check does the attack and
// returns what it observed and whether that is what was expected; a check
// that calls t.Fatal is recorded as failed too.
func hostile(t *testing.T, class, name, expected string, check func(t *testing.T) (observed string, ok bool)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Helper()
		row := hostileRow{Class: class, Case: name, Expected: expected, Observed: "aborted: see the test log"}
		defer func() {
			row.Pass = !t.Failed()
			hostileRows.Lock()
			hostileRows.rows = append(hostileRows.rows, row)
			hostileRows.Unlock()
		}()
		observed, ok := check(t)
		row.Observed = observed
		if !ok {
			t.Errorf("[%s] %s\n  expected: %s\n  observed: %s", class, name, expected, observed)
		}
	})
}

// printHostileTable writes the table of the cases that ran, by class, and a
// closing count; nothing if none ran.
func printHostileTable(w io.Writer) {
	hostileRows.Lock()
	rows := append([]hostileRow(nil), hostileRows.rows...)
	hostileRows.Unlock()
	if len(rows) == 0 {
		return
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Class < rows[j].Class })
	failed := 0
	fmt.Fprintf(w, "\nHostile suite\n%-4s | %-12s | %-58s | %-40s | %s\n", "ok", "class", "case", "expected", "observed")
	fmt.Fprintln(w, strings.Repeat("-", 150))
	for _, r := range rows {
		mark := "ok"
		if !r.Pass {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%-4s | %-12s | %-58s | %-40s | %s\n", mark, r.Class, clip(r.Case, 58), clip(r.Expected, 40), clip(r.Observed, 120))
	}
	fmt.Fprintf(w, "hostile: %d cases, %d as expected, %d unexpected\n", len(rows), len(rows)-failed, failed)
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// recorded is what a recorder backend saw of one request.
type recorded struct {
	Method, URI, Host, Proto string
	Header                   http.Header
	Trailer                  http.Header
	Body                     int64  // bytes of body read
	BodyErr                  string // why the body did not end cleanly; "" if it did
}

// recorder is a plain-HTTP backend that keeps every request it received,
// headers, trailers and body length included, and answers 200 with the
// record as JSON.
type recorder struct {
	URL string
	srv *httptest.Server

	mu   sync.Mutex
	reqs []recorded
}

func newRecorder(t testing.TB) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		seen := recorded{Method: r.Method, URI: r.RequestURI, Host: r.Host, Proto: r.Proto,
			Header: r.Header.Clone(), Trailer: r.Trailer.Clone(), Body: n}
		if err != nil {
			seen.BodyErr = err.Error()
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen)
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen)
	}))
	t.Cleanup(rec.srv.Close)
	rec.URL = rec.srv.URL
	return rec
}

// count is how many requests the backend has received.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// since returns the requests received after the first n.
func (r *recorder) since(n int) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n > len(r.reqs) {
		return nil
	}
	return append([]recorded(nil), r.reqs[n:]...)
}

// last returns the newest request and whether there is one.
func (r *recorder) last() (recorded, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		return recorded{}, false
	}
	return r.reqs[len(r.reqs)-1], true
}

// headerNamed returns every header of h whose name, compared the way CGI,
// PHP and WSGI fold them (case-insensitive, "_" equal to "-"), is name.
func headerNamed(h http.Header, name string) []string {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) }
	var out []string
	for k, vv := range h {
		if fold(k) == fold(name) {
			out = append(out, vv...)
		}
	}
	return out
}
