package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/gateway"
	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/fastpath"
)

// fakeClock is a registry.Clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

var _ registry.Clock = (*fakeClock)(nil)

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// inprocGateway is a gateway running in the test process with an injected
// clock, so a test can make days pass. Connectors are still subprocesses.
type inprocGateway struct {
	gw         *gateway.Gateway
	store      *sqlite.DB
	clock      *fakeClock
	log        *logBuffer
	dir        string
	configPath string
}

// startInprocGateway starts a gateway for c on loopback ports it binds
// itself, with a fake clock starting at the real time.
func startInprocGateway(t testing.TB, c gwConfig) *inprocGateway {
	t.Helper()
	ig := &inprocGateway{dir: t.TempDir(), clock: &fakeClock{now: time.Now()}, log: &logBuffer{}}
	ig.configPath = filepath.Join(ig.dir, "gatehouse.yaml")
	text := c.yaml("127.0.0.1:0", "127.0.0.1:0", filepath.Join(ig.dir, "data"))
	if err := os.WriteFile(ig.configPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(ig.configPath, []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if ig.store, err = sqlite.Open(ctx, cfg.Store.Path); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(ig.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fast, err := fastpath.FromEnv(os.Getenv) // as cmd/gatehouse: make test-e2e-plain runs this gateway plain too
	if err != nil {
		t.Fatal(err)
	}
	ig.gw, err = gateway.New(ctx, cfg, gateway.Options{Store: ig.store, Logger: logger, Clock: ig.clock, Version: "e2e", FastPaths: fast})
	if err != nil {
		t.Fatal(err)
	}
	if err := ig.gw.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ig.gw.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("in-process gateway: %v", err)
			}
		case <-time.After(waitFor):
			t.Errorf("in-process gateway did not stop within %v", waitFor)
		}
		ig.store.Close()
		if t.Failed() {
			t.Logf("---- in-process gateway log ----\n%s", ig.log.tail(48<<10))
		}
	})
	return ig
}

// client is an HTTPS client for the in-process gateway (see gatewayProc.client).
func (ig *inprocGateway) client(t testing.TB) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(ig.gw.DevCAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return newClient(ig.gw.PublicAddr(), &tls.Config{RootCAs: pool}, false)
}

// token creates an enrollment token with the gateway's clock.
func (ig *inprocGateway) token(t testing.TB, group string, ttl time.Duration) string {
	t.Helper()
	tok, err := ig.gw.CreateToken(context.Background(), group, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// status returns the registry's view of connector id, if attached.
func (ig *inprocGateway) status(id string) (registry.Status, bool) {
	for _, s := range ig.gw.Registry().List() {
		if s.ID == id {
			return s, true
		}
	}
	return registry.Status{}, false
}
