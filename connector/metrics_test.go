package connector

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// TestBackendErrorKinds: real failures of an http.Client are sorted into
// dial, timeout and tls.
func TestBackendErrorKinds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	for _, c := range []struct {
		url     string
		timeout time.Duration
		want    string
	}{
		{closed, 0, tunnel.BackendErrDial},
		{slow.URL, 50 * time.Millisecond, tunnel.BackendErrTimeout},
		{tlsSrv.URL, 0, tunnel.BackendErrTLS}, // the test CA is not trusted
	} {
		cl := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: c.timeout}}
		_, err := cl.Get(c.url)
		if err == nil {
			t.Fatalf("%s: no error", c.url)
		}
		if got := tunnel.BackendErrKinds[errKindIndex(err)]; got != c.want {
			t.Errorf("%v: kind %s, want %s", err, got, c.want)
		}
	}
	if got := tunnel.BackendErrKinds[errKindIndex(errors.New("boom"))]; got != tunnel.BackendErrOther {
		t.Errorf("a plain error is %s, want other", got)
	}
}

// TestMetricsSnapshot: calls, errors, 5xx answers, latency buckets and
// sign-on failures add up in the snapshot a heartbeat carries; names
// past the bound are not kept.
func TestMetricsSnapshot(t *testing.T) {
	m := newMetrics()
	if m.snapshot() != nil {
		t.Fatal("a snapshot before any count")
	}
	m.backend("hr", 3*time.Millisecond, 200, nil)
	m.backend("hr", 3*time.Millisecond, 503, nil)
	m.backend("hr", 0, 0, &net.OpError{Op: "dial", Err: errors.New("refused")})
	hr := &app{cfg: tunnel.AppConfig{Name: "hr", SignOn: &tunnel.SignOn{Plugin: "kcd"}}}
	m.refused(hr, errors.New("kerberos: KDC unreachable"))
	m.refused(hr, fmt.Errorf("%w: bad envelope", errIdentity)) // not the plug-in's failure
	m.refused(hr, errAskCredentials)
	m.PluginRestart("kcd", "hr")
	s := m.snapshot()
	if s.Start == "" || len(s.Apps) != 1 || len(s.SignOn) != 1 {
		t.Fatalf("snapshot %+v", s)
	}
	a := s.Apps[0]
	if a.Requests != 3 || a.Errors["dial"] != 1 || a.Errors["5xx"] != 1 || a.Buckets[2] != 2 || a.Sum <= 0 {
		t.Errorf("app metrics %+v", a)
	}
	if p := s.SignOn[0]; p.Plugin != "kcd" || p.Failures != 1 || p.Restarts != 1 {
		t.Errorf("plug-in metrics %+v", p)
	}
	for i := range 2 * maxMetricNames {
		m.backend(fmt.Sprint("app", i), time.Millisecond, 200, nil)
	}
	if n := m.names.Load(); n != maxMetricNames {
		t.Errorf("%d names kept, want %d", n, maxMetricNames)
	}
}
