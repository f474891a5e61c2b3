package e2e

// The fault suite: under a steady, bounded load, one component at a time
// is killed or stopped, and the suite measures what the users saw. Each
// fault is a subtest of TestFault that adds one row to a table of figures
// (requests sent, failed, failed that were idempotent and had a second
// path, time to recover, anything lost), printed when TestFault ends;
// `make test-fault` runs only this suite.
//
// Every fault asserts the same promises: a backend never receives a
// request without the identity of the user who sent it (the backend
// checks the injected headers and the signed assertion of each request);
// failures fail closed; where a second path exists (two connectors), no
// idempotent request fails; the service recovers within 5 s, measured as
// an event (the first success after which no request fails), never slept
// for; and nothing the store committed is lost.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// recoveryBound is the requirement: service is back within 5 s.
const recoveryBound = 5 * time.Second

// faultRow is one line of the fault table.
type faultRow struct {
	Fault       string
	Sent        int
	Failed      int
	FailedIdem2 int // failed GETs that had a second path
	Recovery    string
	Slowest     time.Duration // the longest request that overlapped the fault
	Lost        string
	Pass        bool
}

var faultRows struct {
	sync.Mutex
	rows []faultRow
}

// TestFault runs every fault, one at a time, and prints the table.
func TestFault(t *testing.T) {
	t.Cleanup(func() { printFaultTable(t) })
	t.Run("connector killed", faultConnectorKilled)
	t.Run("connector frozen", faultConnectorFrozen)
	t.Run("auth plug-in killed", faultAuthPluginKilled)
	t.Run("sign-on plug-in killed", faultSignOnPluginKilled)
	t.Run("auth plug-in SIGSTOP", faultAuthPluginFrozen)
	t.Run("sign-on plug-in SIGSTOP", faultSignOnPluginFrozen)
	t.Run("wasm trap", func(t *testing.T) { faultWasm(t, "panic") })
	t.Run("wasm endless loop", func(t *testing.T) { faultWasm(t, "loop") })
	t.Run("wasm memory cap", func(t *testing.T) { faultWasm(t, "oom") })
	t.Run("identity provider stopped", faultIdPStopped)
	t.Run("store read-only", faultStoreReadOnly)
	t.Run("store disk full", faultStoreDiskFull)
	t.Run("gateway restart", faultGatewayRestart)
}

// record adds the row for t's fault, marked failed if t failed.
func record(t *testing.T, row faultRow) {
	t.Helper()
	t.Cleanup(func() {
		row.Pass = !t.Failed() && !t.Skipped()
		if t.Skipped() {
			row.Lost = "skipped"
		}
		faultRows.Lock()
		faultRows.rows = append(faultRows.rows, row)
		faultRows.Unlock()
	})
	t.Logf("fault %q: sent %d, failed %d, failed idempotent with a second path %d, recovered in %s, slowest request %v, lost: %s",
		row.Fault, row.Sent, row.Failed, row.FailedIdem2, row.Recovery, row.Slowest, row.Lost)
}

func printFaultTable(t *testing.T) {
	faultRows.Lock()
	rows := append([]faultRow(nil), faultRows.rows...)
	faultRows.Unlock()
	if len(rows) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nFault suite\n%-4s | %-32s | %6s | %6s | %12s | %-16s | %-8s | %s\n", "ok", "fault", "sent", "failed", "failed idem.", "recovery", "slowest", "lost")
	b.WriteString(strings.Repeat("-", 130) + "\n")
	for _, r := range rows {
		mark := "ok"
		if !r.Pass {
			mark = "FAIL"
		}
		if r.Lost == "skipped" {
			mark = "skip"
		}
		fmt.Fprintf(&b, "%-4s | %-32s | %6d | %6d | %12d | %-16s | %-8v | %s\n", mark, r.Fault, r.Sent, r.Failed, r.FailedIdem2, r.Recovery, r.Slowest, r.Lost)
	}
	fmt.Fprint(os.Stdout, b.String())
}

// shot is one request of a load: when it ran and how it went.
type shot struct {
	start, end time.Time
	uri        string // the request URI sent
	ok         bool
	status     int // 0: transport error
	detail     string
}

// load is a bounded set of workers sending requests in a loop until
// stopped, until each has sent maxPerWorker, or until waitFor×3 passed.
type load struct {
	stop chan struct{}
	wg   sync.WaitGroup
	oks  atomic.Int64

	mu    sync.Mutex
	shots []shot
}

const maxPerWorker = 4000

// startLoad runs workers goroutines calling fn(worker, i) in a loop. fn
// sends one request and says whether it succeeded; after a failure the
// worker waits 20 ms, so an unreachable gateway is polled, not hammered.
func startLoad(t *testing.T, workers int, fn func(w, i int) shot) *load {
	l := &load{stop: make(chan struct{})}
	end := time.Now().Add(3 * waitFor)
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; i < maxPerWorker && time.Now().Before(end); i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				s := fn(w, i)
				l.mu.Lock()
				l.shots = append(l.shots, s)
				l.mu.Unlock()
				if s.ok {
					l.oks.Add(1)
				} else {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	t.Cleanup(l.halt)
	return l
}

// add records a request sent outside the workers.
func (l *load) add(s shot) {
	l.mu.Lock()
	l.shots = append(l.shots, s)
	l.mu.Unlock()
}

// halt stops the workers and waits for them.
func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// waitOK waits until n more requests than now have succeeded.
func (l *load) waitOK(t *testing.T, what string, n int) {
	t.Helper()
	target := l.oks.Load() + int64(n)
	eventually(t, what, func() bool { return l.oks.Load() >= target || t.Failed() })
}

// waitRecovered waits until the load has recovered from a fault at
// faultAt: a success started after faultAt and after the end of every
// failure so far, followed by n more successes.
func (l *load) waitRecovered(t *testing.T, faultAt time.Time, n int) {
	t.Helper()
	eventually(t, "the load to recover from the fault", func() bool {
		_, rec, ok := l.recovery(faultAt)
		return (ok && l.oksAfter(faultAt.Add(rec)) >= n) || t.Failed()
	})
}

func (l *load) oksAfter(at time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.shots {
		if s.ok && s.start.After(at) {
			n++
		}
	}
	return n
}

// recovery is the time from faultAt to the first success after which
// no request failed: a success that started after faultAt and after the
// end of the last failure. It also returns the failures.
func (l *load) recovery(faultAt time.Time) (failed []shot, rec time.Duration, ok bool) {
	l.mu.Lock()
	shots := append([]shot(nil), l.shots...)
	l.mu.Unlock()
	lastFail := faultAt
	for _, s := range shots {
		if !s.ok {
			failed = append(failed, s)
			if s.end.After(lastFail) {
				lastFail = s.end
			}
		}
	}
	sort.Slice(shots, func(i, j int) bool { return shots[i].end.Before(shots[j].end) })
	for _, s := range shots {
		if s.ok && !s.start.Before(faultAt) && !s.start.Before(lastFail) {
			return failed, s.end.Sub(faultAt), true
		}
	}
	return failed, 0, false
}

// slowest is the longest request that was under way at or after faultAt.
func (l *load) slowest(faultAt time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d time.Duration
	for _, s := range l.shots {
		if s.end.After(faultAt) {
			d = max(d, s.end.Sub(s.start))
		}
	}
	return d.Round(time.Millisecond)
}

// summary stops the load and returns its figures: requests sent, the
// failures, and the recovery time (asserted within recoveryBound).
func (l *load) summary(t *testing.T, faultAt time.Time) (sent int, failed []shot, rec time.Duration) {
	t.Helper()
	l.halt()
	failed, rec, ok := l.recovery(faultAt)
	l.mu.Lock()
	sent = len(l.shots)
	l.mu.Unlock()
	if !ok {
		t.Errorf("no request succeeded after the fault")
	}
	if rec > recoveryBound {
		t.Errorf("recovered in %v, want within %v", rec.Round(time.Millisecond), recoveryBound)
	}
	return sent, failed, rec
}

// describe lists the first few failures.
func describe(failed []shot) string {
	var b strings.Builder
	for i, s := range failed {
		if i == 8 {
			fmt.Fprintf(&b, "… and %d more\n", len(failed)-i)
			break
		}
		fmt.Fprintf(&b, "  %s: %d %s\n", s.start.Format("15:04:05.000"), s.status, short(s.detail, 200))
	}
	return b.String()
}

// requireFailuresClosed checks every failure is one of the given statuses
// (a Gatehouse error page), or a transport error when transportOK.
func requireFailuresClosed(t *testing.T, failed []shot, transportOK bool, statuses ...int) {
	t.Helper()
	for _, s := range failed {
		ok := s.status == 0 && transportOK
		for _, st := range statuses {
			ok = ok || s.status == st
		}
		if !ok {
			t.Errorf("a request failed with %d, want one of %v (transport errors allowed: %v): %s", s.status, statuses, transportOK, short(s.detail, 300))
		}
	}
}

// faultBackend is an internal app that checks every request's identity:
// the injected X-Remote-User and the signed assertion must both name the
// user the test sent the request as (its X-Fault-User header). Any other
// request is a breach, recorded and answered 500 so the client sees it.
type faultBackend struct {
	id   *identityBackend // JWKS and assertion checks
	URL  string
	hits atomic.Int64
	// faults counts requests for /fault, which must never arrive.
	faults atomic.Int64

	mu     sync.Mutex
	breach []string
	uris   map[string]bool // every request URI received
}

func newFaultBackend(t *testing.T, audience string) *faultBackend {
	t.Helper()
	b := &faultBackend{id: &identityBackend{aud: audience}, uris: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		b.mu.Lock()
		b.uris[r.RequestURI] = true
		b.mu.Unlock()
		if r.URL.Path == "/fault" {
			b.faults.Add(1)
		}
		want, user := r.Header.Get("X-Fault-User"), r.Header.Get("X-Remote-User")
		sub, err := b.id.verify(r.Header.Get("X-Gatehouse-Assertion"))
		if want == "" || user != want || sub != want {
			b.mu.Lock()
			b.breach = append(b.breach, fmt.Sprintf("%s %s as %q: X-Remote-User %q, assertion %q (%v)", r.Method, r.RequestURI, want, user, sub, err))
			b.mu.Unlock()
			http.Error(w, "identity breach", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"user": user})
	}))
	t.Cleanup(srv.Close)
	// Checked when the test ends, whatever else failed.
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.breach) > 0 {
			t.Errorf("the backend received %d requests without the right identity; first: %s", len(b.breach), b.breach[0])
		}
	})
	b.URL = srv.URL
	return b
}

func (b *faultBackend) port() int {
	p, _ := strconv.Atoi(b.URL[strings.LastIndexByte(b.URL, ':')+1:])
	return p
}

// received lists the failed shots whose request reached the backend.
func (b *faultBackend) received(failed []shot) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var got []string
	for _, s := range failed {
		if b.uris[s.uri] {
			got = append(got, s.uri)
		}
	}
	return got
}

func (b *faultBackend) breaches() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.breach)
}

// The fault suite's users: each API key signs in its user.
var faultKeys = map[string]string{"alice": "k-fault-alice-7f3a", "bob": "k-fault-bob-91c2", "carol": "k-fault-carol-04be",
	"erin": "k-fault-erin-5d18"}

// faultApp is an app signed in by the API-key plug-in (a separate
// binary) for the users of faultKeys, whose identity the connector's
// header plug-in injects, with a signed assertion for audience name.
func faultApp(t testing.TB, name, url string) appSpec {
	t.Helper()
	var keys []string
	for user, key := range faultKeys {
		sum := sha256.Sum256([]byte(key))
		keys = append(keys, fmt.Sprintf("{sha256: %s, subject: %s, groups: [staff]}", hex.EncodeToString(sum[:]), user))
	}
	sort.Strings(keys)
	return appSpec{Name: name, Host: name + ".localhost", Group: "default", URL: url,
		Auth:   fmt.Sprintf(`{plugin: apikeys, config: {header: X-Api-Key, keys: [%s]}}`, strings.Join(keys, ", ")),
		SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}, jwt: {}}}`,
	}
}

// faultBase is the gateway config of the suite: the plug-in catalog and
// quick heartbeats, so a dead connector is noticed within seconds.
func faultBase(t testing.TB) gwConfig {
	return gwConfig{Groups: []string{"default"}, Heartbeat: "1s", InactiveAfter: "3s", Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
}

// faultClient sends requests as one user: with the API key (a new
// sign-in each time) or with a session cookie.
type faultClient struct {
	c      *http.Client
	user   string
	cookie string      // "name=value" of the session; "" = send the API key
	header http.Header // more headers for every request
}

// signIn signs user in with the API key and returns a client that sends
// the session cookie it got.
func signIn(t *testing.T, c *http.Client, host, user string) faultClient {
	t.Helper()
	fc := faultClient{c: c, user: user}
	eventually(t, user+" signed in through the connector", func() bool {
		r, err := do(t, c, fc.request(t, "https://"+host+"/sign-in"))
		if err != nil || r.Status != http.StatusOK {
			return false
		}
		for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
			if strings.HasPrefix(sc.Name, "__Host-gatehouse.") {
				fc.cookie = sc.Name + "=" + sc.Value
			}
		}
		if fc.cookie == "" {
			t.Fatalf("%s got no session cookie: %q", user, r.Header["Set-Cookie"])
		}
		return true
	})
	return fc
}

func (fc faultClient) request(t testing.TB, url string) *http.Request {
	req := mustRequest(t, url)
	for k, v := range fc.header {
		req.Header[k] = v
	}
	req.Header.Set("X-Fault-User", fc.user)
	if fc.cookie != "" {
		req.Header.Set("Cookie", fc.cookie)
	} else {
		req.Header.Set("X-Api-Key", faultKeys[fc.user])
	}
	return req
}

// get sends one GET as fc's user. A 200 must come from the backend with
// fc's user, or the test fails (a wrong user admitted).
func (fc faultClient) get(t testing.TB, url string) shot {
	req := fc.request(t, url)
	s := shot{start: time.Now(), uri: req.URL.RequestURI()}
	r, err := do(t, fc.c, req)
	s.end = time.Now()
	if err != nil {
		s.detail = err.Error()
		return s
	}
	s.status, s.detail = r.Status, r.Body
	if r.Status != http.StatusOK {
		return s
	}
	var got struct{ User string }
	if json.Unmarshal([]byte(r.Body), &got) != nil || got.User != fc.user {
		t.Errorf("%s was answered 200 with %q", fc.user, short(r.Body, 200))
		return s
	}
	s.ok = true
	return s
}

// faultGateway starts a gateway for apps and enrolls n connectors,
// waiting until the gateway attached both tunnels of each; it loads the
// gateway's JWKS into the backends.
func faultGateway(t *testing.T, n int, apps []appSpec, extra string, backends ...*faultBackend) (*gatewayProc, []*connectorProc) {
	t.Helper()
	base := faultBase(t)
	g := newGateway(t, base)
	g.writeConfigText(extra + specYAML(base, apps, g.public, g.tunnel, g.dataDir))
	g.start()
	var conns []*connectorProc
	for i := range n {
		c := enrollConnector(t, g, fmt.Sprintf("connector-%c", 'a'+i), "default")
		g.log().waitLines(t, c.name+"'s sessions attached", 2, "connector session ready", "connector="+c.id(t))
		conns = append(conns, c)
	}
	for _, b := range backends {
		b.id.loadJWKS(t, g.client(false), "https://"+apps[0].Host+"/.gatehouse/jwks.json")
	}
	return g, conns
}

// Fault 1: a connector is SIGKILLed under load; the other connector of
// the group is a second path, so no GET may fail.
func faultConnectorKilled(t *testing.T) {
	be := newFaultBackend(t, "app")
	g, conns := faultGateway(t, 2, []appSpec{faultApp(t, "app", be.URL)}, "", be)
	alice := signIn(t, g.client(false), "app.localhost", "alice")
	l := startLoad(t, 4, func(w, i int) shot { return alice.get(t, fmt.Sprintf("https://app.localhost/k?w=%d&i=%d", w, i)) })
	l.waitOK(t, "load before the kill", 100)
	eventually(t, "both connectors to carry requests", func() bool {
		return connectedTo(t, conns[0].pid(), be.port()) && connectedTo(t, conns[1].pid(), be.port())
	})
	faultAt := time.Now()
	conns[0].kill()
	g.log().waitLines(t, "the gateway to drop connector-a", 2, "connector session closed", "connector="+conns[0].id(t))
	l.waitRecovered(t, faultAt, 200)
	sent, failed, rec := l.summary(t, faultAt)
	conns[1].requireAlive(t)
	record(t, faultRow{Fault: "connector SIGKILL (2 in group)", Sent: sent, Failed: len(failed), FailedIdem2: len(failed),
		Slowest: l.slowest(faultAt), Recovery: rec.Round(time.Millisecond).String(), Lost: "nothing (no state)"})
	if len(failed) > 0 {
		t.Errorf("%d GETs failed with a second connector in the group:\n%s", len(failed), describe(failed))
	}
}

// Fault 1b: a connector freezes (SIGSTOP: a paused VM, a lost network)
// under load. Its TCP connection stays open, so only missed heartbeats
// tell; the other connector of the group is a second path, so no GET may
// fail, and those caught on the frozen connector go to the other.
func faultConnectorFrozen(t *testing.T) {
	be := newFaultBackend(t, "app")
	g, conns := faultGateway(t, 2, []appSpec{faultApp(t, "app", be.URL)}, "", be)
	alice := signIn(t, g.client(false), "app.localhost", "alice")
	l := startLoad(t, 4, func(w, i int) shot { return alice.get(t, fmt.Sprintf("https://app.localhost/f?w=%d&i=%d", w, i)) })
	l.waitOK(t, "load before the freeze", 100)
	eventually(t, "both connectors to carry requests", func() bool {
		return connectedTo(t, conns[0].pid(), be.port()) && connectedTo(t, conns[1].pid(), be.port())
	})
	faultAt := time.Now()
	conns[0].signal(t, syscall.SIGSTOP)
	defer conns[0].signal(t, syscall.SIGCONT)
	l.waitRecovered(t, faultAt, 200)
	sent, failed, rec := l.summary(t, faultAt)
	record(t, faultRow{Fault: "connector SIGSTOP (2 in group)", Sent: sent, Failed: len(failed), FailedIdem2: len(failed),
		Slowest: l.slowest(faultAt), Recovery: rec.Round(time.Millisecond).String(), Lost: "nothing (no state)"})
	if len(failed) > 0 {
		t.Errorf("%d GETs failed with a second connector in the group:\n%s", len(failed), describe(failed))
	}
}

// pluginFault is faults 2a to 2d: send sig to the plug-in process pid
// (under load, every request a fresh sign-in with its API key, so both
// plug-ins are on every request's path), and expect 503s only, none of
// them seen by the backend, and a new process. SIGKILL is a crash;
// SIGSTOP a freeze, which only a health check tells (a call still waiting
// after 1 s has one, which a frozen process fails within 1 s), so the
// service must be back within recoveryBound of the freeze, not after a
// call deadline.
func pluginFault(t *testing.T, name string, sig syscall.Signal, pidOf func(g *gatewayProc, conn *connectorProc) int) {
	be := newFaultBackend(t, "app")
	g, conns := faultGateway(t, 1, []appSpec{faultApp(t, "app", be.URL)}, "", be)
	alice := faultClient{c: g.client(false), user: "alice"}
	eventually(t, "sign-in with the API key", func() bool { return alice.get(t, "https://app.localhost/p").ok })
	pid := pidOf(g, conns[0])
	l := startLoad(t, 4, func(w, i int) shot { return alice.get(t, fmt.Sprintf("https://app.localhost/p?w=%d&i=%d", w, i)) })
	l.waitOK(t, "load before the fault", 50)
	faultAt := time.Now()
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatal(err)
	}
	if sig == syscall.SIGSTOP {
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) }) // if it was never replaced
	}
	l.waitRecovered(t, faultAt, 50)
	sent, failed, rec := l.summary(t, faultAt)
	requireFailuresClosed(t, failed, false, http.StatusServiceUnavailable)
	if got := be.received(failed); len(got) > 0 {
		t.Errorf("the backend received %d requests that failed, first %s", len(got), got[0])
	}
	restarted := "restarted"
	if newPID := pidOf(g, conns[0]); newPID == pid {
		restarted = "NOT restarted"
		t.Errorf("the %s plug-in (pid %d) was not restarted", name, pid)
	}
	record(t, faultRow{Fault: name + " plug-in " + sigName(sig), Sent: sent, Failed: len(failed),
		Slowest: l.slowest(faultAt), Recovery: rec.Round(time.Millisecond).String(), Lost: "nothing; plug-in " + restarted})
	if len(failed) == 0 {
		t.Logf("no request saw the plug-in down")
	}
}

func sigName(sig syscall.Signal) string {
	if sig == syscall.SIGSTOP {
		return "SIGSTOP"
	}
	return "SIGKILL"
}

func authPluginPID(t *testing.T) func(g *gatewayProc, _ *connectorProc) int {
	return func(g *gatewayProc, _ *connectorProc) int { return pluginPID(t, g, customSSOBin) }
}

func signOnPluginPID(t *testing.T) func(_ *gatewayProc, conn *connectorProc) int {
	return func(_ *gatewayProc, conn *connectorProc) int {
		var pid int
		eventually(t, "the header plug-in process under the connector", func() bool {
			pid = childWithExe(conn.pid(), connectorBin)
			return pid != 0
		})
		return pid
	}
}

func faultAuthPluginKilled(t *testing.T) {
	pluginFault(t, "auth (API keys)", syscall.SIGKILL, authPluginPID(t))
}

func faultSignOnPluginKilled(t *testing.T) {
	pluginFault(t, "sign-on (header)", syscall.SIGKILL, signOnPluginPID(t))
}

// Faults 2c and 2d: the plug-in process freezes (SIGSTOP); its socket stays
// open and calls to it simply wait.
func faultAuthPluginFrozen(t *testing.T) {
	pluginFault(t, "auth (API keys)", syscall.SIGSTOP, authPluginPID(t))
}

func faultSignOnPluginFrozen(t *testing.T) {
	pluginFault(t, "sign-on (header)", syscall.SIGSTOP, signOnPluginPID(t))
}

// Fault 6: the gateway restarts (SIGTERM, then started again on the same
// ports and data directory) under load from a session issued before.
func faultGatewayRestart(t *testing.T) {
	be := newFaultBackend(t, "app")
	g, conns := faultGateway(t, 1, []appSpec{faultApp(t, "app", be.URL)}, "", be)
	alice := signIn(t, g.client(false), "app.localhost", "alice")
	l := startLoad(t, 4, func(w, i int) shot { return alice.get(t, fmt.Sprintf("https://app.localhost/r?w=%d&i=%d", w, i)) })
	l.waitOK(t, "load before the restart", 100)
	faultAt := time.Now()
	g.stop()
	g.start()
	conns[0].waitReady(t, 4)
	l.waitRecovered(t, faultAt, 100)
	sent, failed, rec := l.summary(t, faultAt)
	requireFailuresClosed(t, failed, true, http.StatusServiceUnavailable, http.StatusBadGateway)
	for _, s := range failed {
		if s.status == http.StatusUnauthorized {
			t.Errorf("a session issued before the restart was refused after it")
		}
	}
	record(t, faultRow{Fault: "gateway restart (1 gateway)", Sent: sent, Failed: len(failed),
		Slowest: l.slowest(faultAt), Recovery: rec.Round(time.Millisecond).String(), Lost: "nothing; session valid after"})
}

// short is s on one line, cut to n bytes.
func short(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
