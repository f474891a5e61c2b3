package vault

import (
	"bytes"
	"context"
	"crypto/hpke"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/pluginhost/pluginhosttest"
	"github.com/gatehouse/gatehouse/plugins/vault/basiclab"
	"github.com/gatehouse/gatehouse/sdk"
	sealed "github.com/gatehouse/gatehouse/sdk/vault"
)

var (
	// plugin is the plug-in binary, built once for the package's tests,
	// and bin its path.
	plugin pluginhost.Entry
	bin    string
	// lab is the running Basic-auth lab, nil when there is none; labSkip
	// says why.
	lab     *basiclab.Lab
	labSkip string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var remove func()
	var err error
	if plugin, remove, err = pluginhosttest.Build("vault", "", "./cmd/gatehouse-plugin-vault"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	bin = plugin.Path
	start := time.Now()
	lab, err = basiclab.Start(context.Background())
	switch {
	case errors.Is(err, basiclab.ErrSkip):
		labSkip = err.Error()
		fmt.Println("vault: tests against a real Apache skipped:", labSkip)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	default:
		fmt.Printf("vault: Basic-auth lab at %s (started in %v)\n", lab.URL, time.Since(start).Round(time.Millisecond))
	}
	defer func() {
		if err := lab.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

// needLab skips t unless the lab runs.
func needLab(t testing.TB) *basiclab.Lab {
	t.Helper()
	if lab == nil {
		t.Skip(labSkip)
	}
	return lab
}

// A keyPair is a connector group's vault key: the file the plug-in reads
// and the public half the gateway seals to.
type keyPair struct {
	file string
	pub  hpke.PublicKey
}

// newKey writes a new vault key file (mode 0600) in a temporary directory.
func newKey(t testing.TB) keyPair {
	t.Helper()
	privPEM, pub64, err := sealed.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sealed.PublicKey(pub64)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "vault.key")
	if err := os.WriteFile(file, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyPair{file: file, pub: pub}
}

// seal seals user and password as the gateway does, for app and subject.
func (k keyPair) seal(t testing.TB, app, subject, user, password string) []byte {
	t.Helper()
	b, err := sealed.Seal(k.pub, app, subject, sealed.Credentials{Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logBuffer collects a host's log lines, the plug-in's included.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// open starts the plug-in binary for app "hr" with cfg, over the real
// protocol. The plug-in's log goes to logs when it is not nil.
func open(t testing.TB, cfg map[string]any, logs *logBuffer) (*pluginhost.Injector, error) {
	t.Helper()
	host := pluginhost.Host{}
	if logs != nil {
		host.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return pluginhosttest.Injector(t, host, plugin, pluginhost.Use{App: "hr", Config: cfg})
}

// mustOpen is open that fails the test on an error.
func mustOpen(t testing.TB, cfg map[string]any, logs *logBuffer) *pluginhost.Injector {
	t.Helper()
	inj, err := open(t, cfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	return inj
}

// inject calls inj for subject with secret and the client's header h.
func inject(t testing.TB, inj sdk.Injector, subject string, secret []byte, h map[string][]string) sdk.InjectResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := inj.Inject(ctx, sdk.InjectRequest{Identity: sdk.Identity{Subject: subject, UPN: subject + "@example.com"},
		Method: "GET", URL: "http://app.internal/reports/q1", Header: h, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
