package metrics

import (
	"context"
	"errors"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatehouse/gatehouse/core/store"
)

func TestAppRequests(t *testing.T) {
	m := New("v1")
	a := m.App("hr")
	if m.App("hr") != a {
		t.Fatal("App returned a new *App for the same name")
	}
	a.Start()
	if got := scrape(t, m, "gatehouse_requests_in_flight", "app=hr"); got != 1 {
		t.Errorf("in flight after Start: %v", got)
	}
	a.Finish(time.Now(), "GET", 200, 0, 100, 3*time.Millisecond, time.Millisecond, 2*time.Millisecond)
	a.Start()
	a.Finish(time.Now(), "PROPFIND", 503, 10, 0, time.Millisecond, time.Millisecond, 0)
	a.Start()
	a.Finish(time.Now(), "DELETE", 101, 0, 0, time.Millisecond, time.Millisecond, 0)
	for _, c := range []struct {
		method, code string
		want         float64
	}{{"GET", "2xx", 1}, {"other", "5xx", 1}, {"DELETE", "1xx", 1}, {"GET", "5xx", 0}} {
		if got := max(scrape(t, m, "gatehouse_requests_total", "app=hr", "method="+c.method, "code="+c.code), 0); got != c.want {
			t.Errorf("requests{%s,%s} = %v, want %v", c.method, c.code, got, c.want)
		}
	}
	if got := scrape(t, m, "gatehouse_requests_in_flight", "app=hr"); got != 0 {
		t.Errorf("in flight after Finish: %v", got)
	}
	if in, out := scrape(t, m, "gatehouse_request_bytes_total", "app=hr"), scrape(t, m, "gatehouse_response_bytes_total", "app=hr"); in != 10 || out != 100 {
		t.Errorf("bytes in %v out %v, want 10 and 100", in, out)
	}
	// The backend histogram has only the request that reached one.
	if n := histogramCount(t, m, "gatehouse_request_backend_seconds"); n != 1 {
		t.Errorf("backend observations: %d, want 1", n)
	}
	if n := histogramCount(t, m, "gatehouse_request_gateway_seconds"); n != 3 {
		t.Errorf("gateway observations: %d, want 3", n)
	}
}

func histogramCount(t *testing.T, m *Metrics, name string) uint64 {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, f := range fams {
		if f.GetName() == name {
			for _, s := range f.GetMetric() {
				n += s.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

func TestAppNoAllocations(t *testing.T) {
	a := New("v").App("hr")
	a.Start()
	a.Finish(time.Now(), "GET", 200, 1, 1, time.Millisecond, time.Microsecond, time.Millisecond) // creates the series
	if n := testing.AllocsPerRun(1000, func() {
		a.Start()
		a.Finish(time.Now(), "GET", 200, 1, 1, time.Millisecond, time.Microsecond, time.Millisecond)
	}); n != 0 {
		t.Errorf("a request costs %v allocations, want 0", n)
	}
}

func BenchmarkAppRequest(b *testing.B) {
	a := New("v").App("hr")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.Start()
			a.Finish(time.Now(), "GET", 200, 0, 100, time.Millisecond, 50*time.Microsecond, 900*time.Microsecond)
		}
	})
}

// TestNil: a nil *Metrics (metrics off) takes every call.
func TestNil(t *testing.T) {
	var m *Metrics
	m.SignIn("a", "denied", "access.groups")
	m.PluginCall("p", "a", "Authenticate", time.Second, nil)
	m.PluginRestart("p", "a")
	m.SessionOpened("c", "g")
	m.SetReady(true)
	m.SetStoreUp(false)
	m.WatchConnectors(nil)
	m.Certificates().Served("h", 1, time.Now())
	m.Certificates().Forget(func(string) bool { return false })
	if m.App("a") != nil || m.Filter("a", "f") != nil {
		t.Error("nil Metrics gave observers")
	}
	var s store.Store
	if m.Store(s, nil) != s {
		t.Error("nil Metrics wrapped the store")
	}
}

func TestSignIns(t *testing.T) {
	m := New("v")
	m.SignIn("hr", "signed_in", "")
	m.SignIn("hr", "denied", "access.groups")
	m.SignIn("hr", "challenged", "challenged")
	if got := testutil.ToFloat64(m.signins.WithLabelValues("hr", "signed_in")); got != 1 {
		t.Errorf("signed_in: %v", got)
	}
	if got := testutil.CollectAndCount(m.denials); got != 2 {
		t.Errorf("denial series: %d, want 2 (a sign-in is no denial)", got)
	}
	if got := testutil.ToFloat64(m.denials.WithLabelValues("hr", "access.groups")); got != 1 {
		t.Errorf("denials{access.groups}: %v", got)
	}
}

// fakeStore answers LoadCA with err and GetBlob with not found.
type fakeStore struct {
	store.Store
	err error
}

func (f fakeStore) LoadCA(context.Context) (store.CA, error) { return store.CA{}, f.err }
func (f fakeStore) GetBlob(context.Context, string) (store.Blob, error) {
	return store.Blob{}, store.ErrNotFound
}

func TestStore(t *testing.T) {
	m := New("v")
	failures := 0
	broken := errors.New("disk full")
	s := m.Store(fakeStore{err: broken}, func() { failures++ })
	if _, err := s.LoadCA(context.Background()); !errors.Is(err, broken) {
		t.Fatalf("LoadCA: %v, want the store's error", err)
	}
	if _, err := s.GetBlob(context.Background(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetBlob: %v", err)
	}
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("LoadCA")); got != 1 || failures != 1 {
		t.Errorf("LoadCA errors %v, failed called %d times; want 1 and 1", got, failures)
	}
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("GetBlob")); got != 0 || failures != 1 {
		t.Errorf("not found counted as a failure: %v", got)
	}
	if n := histogramCount(t, m, "gatehouse_store_seconds"); n != 2 {
		t.Errorf("store observations: %d, want 2", n)
	}
}

func TestConnectors(t *testing.T) {
	m := New("v")
	m.WatchConnectors(func() ([]Group, []Connector) {
		return []Group{{Name: "paris", InUse: true}, {Name: "lyon", InUse: true}, {Name: "spare"}},
			[]Connector{
				{ID: "a", Group: "paris", Active: true, Sessions: 2, InFlight: 3, RTT: 1500 * time.Microsecond},
				{ID: "b", Group: "paris", Active: false, Sessions: 2},
				{ID: "c", Group: "lyon", Active: true, Sessions: 2, Draining: 2},
			}
	})
	want := `
# HELP gatehouse_connector_group_up 1 when a connector group that an app uses has an active connector on this node.
# TYPE gatehouse_connector_group_up gauge
gatehouse_connector_group_up{group="lyon"} 0
gatehouse_connector_group_up{group="paris"} 1
# HELP gatehouse_connectors Connectors attached to this node, by group and state.
# TYPE gatehouse_connectors gauge
gatehouse_connectors{group="lyon",state="active"} 0
gatehouse_connectors{group="lyon",state="draining"} 1
gatehouse_connectors{group="lyon",state="inactive"} 0
gatehouse_connectors{group="paris",state="active"} 1
gatehouse_connectors{group="paris",state="draining"} 0
gatehouse_connectors{group="paris",state="inactive"} 1
gatehouse_connectors{group="spare",state="active"} 0
gatehouse_connectors{group="spare",state="draining"} 0
gatehouse_connectors{group="spare",state="inactive"} 0
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "gatehouse_connector_group_up", "gatehouse_connectors"); err != nil {
		t.Error(err)
	}
	// The RTT of a connector not measured yet (b, c) is absent, not 0.
	rtt := `
# HELP gatehouse_tunnel_rtt_seconds The latest round trip measured on a connector's tunnel (a ping per heartbeat interval).
# TYPE gatehouse_tunnel_rtt_seconds gauge
gatehouse_tunnel_rtt_seconds{connector="a",group="paris"} 0.0015
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(rtt), "gatehouse_tunnel_rtt_seconds"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.sessionsOpened.WithLabelValues("a", "paris")); got != 0 {
		t.Errorf("sessions opened before any: %v", got)
	}
}

func TestCertificates(t *testing.T) {
	m := New("v")
	c := m.Certificates()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c.Served("hr.example.com", 1, exp)
	c.Served("hr.example.com", 1, exp.Add(time.Hour)) // same certificate: not read again
	if got := testutil.ToFloat64(m.certExpiry.WithLabelValues("hr.example.com")); got != float64(exp.Unix()) {
		t.Errorf("expiry %v, want %v", got, exp.Unix())
	}
	c.Served("hr.example.com", 2, exp.Add(time.Hour)) // renewed
	if got := testutil.ToFloat64(m.certExpiry.WithLabelValues("hr.example.com")); got != float64(exp.Add(time.Hour).Unix()) {
		t.Errorf("expiry after renewal %v", got)
	}
	c.Forget(func(string) bool { return false })
	if n := testutil.CollectAndCount(m.certExpiry); n != 0 {
		t.Errorf("%d series after Forget", n)
	}
}

// TestDocListsEveryMetric: the package doc names every gatehouse_ metric
// the registry exports.
func TestDocListsEveryMetric(t *testing.T) {
	m := New("v")
	m.App("a").Finish(time.Now(), "GET", 200, 1, 1, 1, 1, 1)
	m.SignIn("a", "denied", "r")
	m.PluginCall("p", "a", "m", 1, nil)
	m.PluginRestart("p", "a")
	m.Filter("a", "f").GuestCall(1, true)
	m.Certificates().Served("h", 1, time.Now())
	m.SessionOpened("c", "g")
	_, _ = m.Store(fakeStore{err: errors.New("x")}, nil).LoadCA(context.Background())
	m.WatchConnectors(func() ([]Group, []Connector) {
		return []Group{{Name: "g", InUse: true}}, []Connector{{ID: "c", Group: "g", Sessions: 1, RTT: time.Millisecond}}
	})
	doc, err := os.ReadFile("metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range fams {
		if name := f.GetName(); strings.HasPrefix(name, "gatehouse_") {
			seen++
			if !strings.Contains(string(doc), "//\t"+name) {
				t.Errorf("%s is not in the package doc", name)
			}
		}
	}
	if seen < 25 {
		t.Errorf("only %d gatehouse_ metrics exported", seen)
	}
}

// The wrapper keeps a SQLite store's stamp (store.Stamper): the cluster
// follower tells from it whether a revocation check may be answered from
// memory. A store without stamps stays without them.
func TestStoreKeepsTheStamp(t *testing.T) {
	m := New("v")
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, ok := m.Store(db, nil).(store.Stamper)
	if !ok {
		t.Fatal("the timed SQLite store is not a store.Stamper")
	}
	got, err := st.Stamp()
	want, err2 := db.Stamp()
	if err != nil || err2 != nil || got != want {
		t.Fatalf("Stamp through the wrapper %+v (%v), the store's %+v (%v)", got, err, want, err2)
	}
	if _, ok := m.Store(fakeStore{}, nil).(store.Stamper); ok {
		t.Fatal("a store without stamps got one from the wrapper")
	}
}
