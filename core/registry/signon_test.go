package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

func refusal(app, msg string) tunnel.SignOnRefusal {
	return tunnel.SignOnRefusal{App: app, Plugin: "tenant-sig", Field: "sign_on.plugin", Message: msg}
}

// dialApp dials app n times and counts the connectors chosen.
func dialApp(t *testing.T, r *Registry, group, app string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		st, id, release, err := r.DialApp(t.Context(), group, app, nil, false)
		if err != nil {
			t.Fatalf("DialApp %s: %v", app, err)
		}
		st.Close()
		release()
		got[id]++
	}
	return got
}

// An app with sign-on goes only to the connectors that accepted it; an
// app without goes to every connector.
func TestDialAppOnlyToConnectorsThatAccepted(t *testing.T) {
	r := New(newClock(), time.Minute)
	sa, _ := newTunnel(t, "a")
	sb, _ := newTunnel(t, "b")
	r.Attach("a", "g", sa)
	r.Attach("b", "g", sb)
	r.SetSignOns(map[string]SignOnNeed{"crm": {Plugin: "tenant-sig", Since: 3}})
	r.Report(sa, 3, &tunnel.SignOnReport{Accepted: []string{"crm"}})
	r.Report(sb, 3, &tunnel.SignOnReport{Refused: []tunnel.SignOnRefusal{refusal("crm", "checksum mismatch")}})
	if got := dialApp(t, r, "g", "crm", 50); got["a"] != 50 {
		t.Fatalf("crm went to %v; want a only", got)
	}
	if got := dialApp(t, r, "g", "wiki", 50); got["a"] == 0 || got["b"] == 0 {
		t.Fatalf("wiki (no sign-on) went to %v; want both", got)
	}
	// b fixed its binary: its next ready accepts crm.
	r.Report(sb, 4, &tunnel.SignOnReport{Accepted: []string{"crm"}})
	if got := dialApp(t, r, "g", "crm", 50); got["b"] == 0 {
		t.Fatalf("crm went to %v after b accepted it", got)
	}
}

// When every connector refused, the error quotes a refusal, wraps
// ErrNoConnector and makes a 503 page that says why.
func TestDialAppEveryConnectorRefused(t *testing.T) {
	clock := newClock()
	r := New(clock, time.Minute)
	sa, _ := newTunnel(t, "a")
	r.Attach("a", "g", sa)
	r.SetSignOns(map[string]SignOnNeed{"crm": {Plugin: "tenant-sig", Since: 1}})
	r.Report(sa, 1, &tunnel.SignOnReport{Refused: []tunnel.SignOnRefusal{
		{App: "crm", Plugin: "tenant-sig", Field: "sign_on.config.key_file", Message: "required"}}})
	_, _, release, err := r.DialApp(t.Context(), "g", "crm", nil, false)
	var so *SignOnError
	if !errors.As(err, &so) || !errors.Is(err, ErrNoConnector) || release != nil {
		t.Fatalf("DialApp = %v; want a *SignOnError wrapping ErrNoConnector", err)
	}
	want := `no connector in group "g" accepted sign-on plug-in "tenant-sig" for app "crm": sign_on.config.key_file: required (connector a)`
	if err.Error() != want {
		t.Fatalf("error:\n%s\nwant\n%s", err, want)
	}
	page := `no connector in group "g" accepted sign-on plug-in "tenant-sig" for app "crm" (connector a refused sign_on.config.key_file)`
	if p := so.Page(); p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Text, page) || strings.Contains(p.Text, "required") {
		t.Fatalf("page %+v: want it to name the refused field, not the connector's message", p)
	}
	if got := statuses(r); got != "g/a active=true sessions=1 inflight=0; " {
		t.Fatalf("a refused dial leaked an in-flight count: %s", got)
	}
	// A connector that went silent is no refusal: the usual "no connector".
	clock.Advance(2 * time.Minute)
	r.Sweep()
	if _, _, _, err := r.DialApp(t.Context(), "g", "crm", nil, false); !errors.Is(err, ErrNoConnector) || errors.As(err, new(*SignOnError)) {
		t.Fatalf("DialApp with the group's only connector inactive = %v; want ErrNoConnector alone", err)
	}
}

// A session that has not answered the config that changed the app is
// not used; the request waits for its ready rather than fail, and fails
// (with a SignOnError) only when none comes in time.
func TestDialAppWaitsForTheReady(t *testing.T) {
	r := New(newClock(), time.Minute)
	sa, _ := newTunnel(t, "a")
	r.Attach("a", "g", sa)
	r.Report(sa, 1, &tunnel.SignOnReport{Accepted: []string{"crm"}})
	r.SetSignOns(map[string]SignOnNeed{"crm": {Plugin: "tenant-sig", Since: 2}}) // crm changed in config 2
	type result struct {
		id  string
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, id, release, err := r.DialApp(t.Context(), "g", "crm", nil, false)
		if err == nil {
			st.Close()
			release()
		}
		done <- result{id, err}
	}()
	select {
	case res := <-done:
		t.Fatalf("DialApp returned %+v before a answered config 2", res)
	case <-time.After(50 * time.Millisecond): // not a timing assertion: any answer now is wrong
	}
	r.Report(sa, 2, &tunnel.SignOnReport{Accepted: []string{"crm"}})
	if res := <-done; res.err != nil || res.id != "a" {
		t.Fatalf("after a's ready DialApp = %+v", res)
	}

	r.signOnWait = time.Millisecond
	r.SetSignOns(map[string]SignOnNeed{"crm": {Plugin: "tenant-sig", Since: 3}})
	_, _, _, err := r.DialApp(t.Context(), "g", "crm", nil, false)
	var so *SignOnError
	if !errors.As(err, &so) || so.Refusal != nil || !strings.Contains(err.Error(), "has confirmed") {
		t.Fatalf("DialApp with no ready in time = %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r.signOnWait = time.Hour
	if _, _, _, err := r.DialApp(ctx, "g", "crm", nil, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("DialApp with the client gone = %v", err)
	}
}

// A connector that reports nothing (an older version) gets the apps with
// built-in sign-on plug-ins, which it runs, and no other.
func TestDialAppOlderConnector(t *testing.T) {
	r := New(newClock(), time.Minute)
	sa, _ := newTunnel(t, "a")
	r.Attach("a", "g", sa)
	r.Report(sa, 1, nil)
	r.SetSignOns(map[string]SignOnNeed{"hr": {Plugin: "header", Builtin: true, Since: 1}, "crm": {Plugin: "tenant-sig", Since: 1}})
	if got := dialApp(t, r, "g", "hr", 3); got["a"] != 3 {
		t.Fatalf("hr went to %v", got)
	}
	_, _, _, err := r.DialApp(t.Context(), "g", "crm", nil, false)
	if !errors.Is(err, ErrNoConnector) || !strings.Contains(err.Error(), "does not report its sign-on plug-ins") {
		t.Fatalf("crm on an older connector = %v", err)
	}
	// Before its first ready, a session gets no app with sign-on.
	sb, _ := newTunnel(t, "b")
	r.Attach("b", "g2", sb)
	r.signOnWait = time.Millisecond
	r.SetSignOns(map[string]SignOnNeed{"x": {Plugin: "header", Builtin: true, Since: 1}})
	if _, _, _, err := r.DialApp(t.Context(), "g2", "x", nil, false); !errors.Is(err, ErrNoConnector) {
		t.Fatalf("DialApp before any ready = %v", err)
	}
}
