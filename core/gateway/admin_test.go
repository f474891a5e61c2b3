package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/hashicorp/yamux"
)

// switchStore fails every write and ListConnectors while broken is set,
// as a store that went read-only or unreachable would.
type switchStore struct {
	store.Store
	broken atomic.Bool
}

var errOutage = errors.New("store outage (test)")

func (s *switchStore) TryLock(ctx context.Context, name, owner string, now, expires time.Time) (bool, error) {
	if s.broken.Load() {
		return false, errOutage
	}
	return s.Store.TryLock(ctx, name, owner, now, expires)
}

func (s *switchStore) ListConnectors(ctx context.Context) ([]store.Connector, error) {
	if s.broken.Load() {
		return nil, errOutage
	}
	return s.Store.ListConnectors(ctx)
}

func adminConfig(t *testing.T, dir, extra string) *config.Config {
	t.Helper()
	return lifecycleConfig(t, dir, "127.0.0.1:0", "127.0.0.1:0", "admin: {pprof: "+extra+"}\n", "")
}

// get fetches path from the admin listener and returns the status and body.
func get(t *testing.T, a *Admin, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

func readyz(t *testing.T, a *Admin) (int, readyBody) {
	t.Helper()
	code, body := get(t, a, "/readyz")
	var rb readyBody
	if err := json.Unmarshal([]byte(body), &rb); err != nil {
		t.Fatalf("/readyz answered %d %q: %v", code, body, err)
	}
	return code, rb
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAdminReadiness(t *testing.T) {
	dir := t.TempDir()
	cfg := adminConfig(t, dir, "false")
	cfg.Listen.Admin = "127.0.0.1:0"
	a, err := ListenAdmin(cfg, "v-test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.probeEvery = 50 * time.Millisecond
	if code, body := get(t, a, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz before the store: %d %q", code, body)
	}
	code, rb := readyz(t, a)
	if code != 503 || rb.Status != "not ready" || rb.Checks["state"] != "not loaded from the store yet" || rb.Checks["config"] != "ok" ||
		!strings.Contains(strings.Join(rb.Missing, "; "), "listeners:") {
		t.Errorf("/readyz before the store: %d %+v", code, rb)
	}
	if code, _ := get(t, a, "/api/v1/apps"); code != 503 {
		t.Errorf("/api/v1/apps before the store: %d, want 503", code)
	}
	if code, _ := get(t, a, "/debug/pprof/"); code != 404 {
		t.Errorf("/debug/pprof/ without admin.pprof: %d, want 404", code)
	}

	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &switchStore{Store: db}
	g, err := New(context.Background(), cfg, Options{Store: st, Logger: slog.New(slog.DiscardHandler), Admin: a})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if code, rb := readyz(t, a); code != 503 || rb.Checks["state"] != "ok" || len(rb.Missing) != 1 {
		t.Errorf("/readyz with the state loaded, before Serve: %d %+v", code, rb)
	}
	if err := g.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx) }()
	waitFor(t, "/readyz to say ready", func() bool { c, rb := readyz(t, a); return c == 200 && rb.Status == "ready" })

	checkGroups(t, a, g)
	checkCertificates(t, a, g)
	checkOutage(t, a, st)

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if code, rb := readyz(t, a); code != 503 || rb.Checks["listeners"] != "the gateway is shutting down" {
		t.Errorf("/readyz after Serve: %d %+v", code, rb)
	}
}

// checkGroups: the group of the app is down without a connector, up with
// one, down again when it leaves; readiness never changes with it.
func checkGroups(t *testing.T, a *Admin, g *Gateway) {
	t.Helper()
	groupUp := func() (bool, string) {
		_, body := get(t, a, "/api/v1/groups")
		var out struct{ Groups []apiGroup }
		if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Groups) != 1 || out.Groups[0].Name != "default" || !out.Groups[0].InUse {
			t.Fatalf("/api/v1/groups: %v %s", err, body)
		}
		_, metrics := get(t, a, "/metrics")
		return out.Groups[0].Up, metrics
	}
	if up, m := groupUp(); up || !strings.Contains(m, `gatehouse_connector_group_up{group="default"} 0`) {
		t.Errorf("group without a connector: up %v; metrics:\n%s", up, grep(m, "group_up"))
	}
	c1, c2 := net.Pipe()
	defer c2.Close()
	sess, err := yamux.Server(c1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	detach := g.reg.Attach("c1", "default", sess)
	up, m := groupUp()
	for _, want := range []string{`gatehouse_connector_group_up{group="default"} 1`, `gatehouse_connectors{group="default",state="active"} 1`,
		`gatehouse_tunnel_sessions{connector="c1",group="default"} 1`, `gatehouse_tunnel_sessions_opened_total{connector="c1",group="default"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics with a connector: no %s in\n%s", want, grep(m, "gatehouse_connector", "gatehouse_tunnel"))
		}
	}
	if !up {
		t.Error("/api/v1/groups: the group is not up with an active connector")
	}
	if _, body := get(t, a, "/api/v1/apps"); !strings.Contains(body, `"serving": true`) || !strings.Contains(body, `"auth": "passthrough"`) {
		t.Errorf("/api/v1/apps with a connector: %s", body)
	}
	if _, body := get(t, a, "/api/v1/connectors"); !strings.Contains(body, `"id": "c1"`) || !strings.Contains(body, `"state": "active"`) {
		t.Errorf("/api/v1/connectors: %s", body)
	}
	detach()
	if up, m := groupUp(); up || !strings.Contains(m, `gatehouse_connector_group_up{group="default"} 0`) {
		t.Errorf("group after its last connector left: up %v; metrics:\n%s", up, grep(m, "group_up"))
	}
	if code, rb := readyz(t, a); code != 200 || rb.Status != "ready" {
		t.Errorf("/readyz with the group down: %d %+v; want ready (group health is not readiness)", code, rb)
	}
}

// checkCertificates: the expiry of the certificate served for a published
// host is a metric; a name no app publishes makes no series.
func checkCertificates(t *testing.T, a *Admin, g *Gateway) {
	t.Helper()
	for _, name := range []string{"hr.example.com", "nope.example.com"} {
		c, err := tls.Dial("tcp", g.PublicAddr(), &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err == nil {
			c.Close()
		}
	}
	_, m := get(t, a, "/metrics")
	if !strings.Contains(m, `gatehouse_certificate_expiry_timestamp_seconds{host="hr.example.com"} `) || strings.Contains(m, "nope.example.com") {
		t.Errorf("certificate metrics:\n%s", grep(m, "certificate"))
	}
}

// checkOutage: a store that fails is reported degraded (still 200) and
// clears when it comes back.
func checkOutage(t *testing.T, a *Admin, st *switchStore) {
	t.Helper()
	st.broken.Store(true)
	if code, body := get(t, a, "/api/v1/connectors"); code != 200 || !strings.Contains(body, "store outage (test)") {
		t.Errorf("/api/v1/connectors with the store down: %d %s", code, body)
	}
	var rb readyBody
	waitFor(t, "/readyz to say degraded", func() bool {
		var code int
		code, rb = readyz(t, a)
		return code == 200 && rb.Status == "degraded"
	})
	if !strings.Contains(rb.Checks["store"], "store outage (test)") || len(rb.Degraded) != 1 {
		t.Errorf("/readyz degraded: %+v", rb)
	}
	if _, m := get(t, a, "/metrics"); !strings.Contains(m, "gatehouse_store_up 0") || !strings.Contains(m, `gatehouse_store_errors_total{op="ListConnectors"} 1`) ||
		!strings.Contains(m, "gatehouse_ready 1") {
		t.Errorf("metrics during the outage:\n%s", grep(m, "gatehouse_store", "gatehouse_ready"))
	}
	st.broken.Store(false)
	waitFor(t, "/readyz to clear", func() bool { c, rb := readyz(t, a); return c == 200 && rb.Status == "ready" })
	if _, m := get(t, a, "/metrics"); !strings.Contains(m, "gatehouse_store_up 1") {
		t.Errorf("metrics after the outage:\n%s", grep(m, "gatehouse_store_up"))
	}
}

// grep returns the lines of s that contain one of subs.
func grep(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestAdminPprof(t *testing.T) {
	cfg := adminConfig(t, t.TempDir(), "true")
	cfg.Listen.Admin = "127.0.0.1:0"
	a, err := ListenAdmin(cfg, "v", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if code, body := get(t, a, "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with admin.pprof: %d", code)
	}
}

func TestAdminAddressTaken(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	cfg := adminConfig(t, t.TempDir(), "false")
	cfg.Listen.Admin, cfg.Listen.AdminDefault = held.Addr().String(), false
	if a, err := ListenAdmin(cfg, "v", slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "listen.admin "+cfg.Listen.Admin) {
		a.Close()
		t.Errorf("a configured address that is taken: %v, want an error naming listen.admin", err)
	}
	cfg.Listen.AdminDefault = true // as if the key were left out
	var log strings.Builder
	a, err := ListenAdmin(cfg, "v", slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil || a != nil {
		t.Fatalf("the default address taken: %v %v, want no admin listener and no error", a, err)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "admin listener off") {
		t.Errorf("no warning: %s", log.String())
	}
	cfg.Listen.Admin = config.AdminOff
	if a, err := ListenAdmin(cfg, "v", slog.New(slog.DiscardHandler)); a != nil || err != nil {
		t.Errorf("listen.admin off: %v %v", a, err)
	}
}
