package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/freeport"
)

// appConf is one app in a generated gateway config.
type appConf struct {
	Name, Host, Group, URL string
}

// gwConfig is what a test chooses about its gateway; the rest is fixed:
// loopback listeners on pre-picked ports, a data directory in the test's
// temp dir, self-signed TLS.
type gwConfig struct {
	Heartbeat     string // tunnel.heartbeat_interval; "" = default (10s)
	InactiveAfter string // tunnel.inactive_after; "" = default (30s)
	LogLevel      string // "" = info
	Groups        []string
	Apps          []appConf
	Plugins       string // the plugins: catalog, as YAML lines ("  - name: ...")
}

// oneApp is the usual config: group "default" with app "app" at
// app.localhost, served by backendURL.
func oneApp(backendURL string) gwConfig {
	return gwConfig{
		Groups: []string{"default"},
		Apps:   []appConf{{Name: "app", Host: "app.localhost", Group: "default", URL: backendURL}},
	}
}

// yaml renders c for a gateway listening on public and tunnel.
func (c gwConfig) yaml(public, tunnel, dataDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nlisten:\n  public: %q\n  tunnel: %q\n", dataDir, public, tunnel)
	b.WriteString("tunnel:\n")
	for _, kv := range [][2]string{{"heartbeat_interval", c.Heartbeat}, {"inactive_after", c.InactiveAfter}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "  %s: %s\n", kv[0], kv[1])
		}
	}
	level := c.LogLevel
	if level == "" {
		level = "info"
	}
	if c.Plugins != "" {
		b.WriteString("plugins:\n" + c.Plugins)
	}
	fmt.Fprintf(&b, "log:\n  level: %s\nconnector_groups:\n", level)
	for _, g := range c.Groups {
		fmt.Fprintf(&b, "  - name: %s\n", g)
	}
	b.WriteString("apps:\n")
	for _, a := range c.Apps {
		fmt.Fprintf(&b, "  - name: %s\n    host: %s\n    group: %s\n    auth: passthrough\n    backend:\n      url: %s\n      timeout: 30s\n",
			a.Name, a.Host, a.Group, a.URL)
	}
	return b.String()
}

// gatewayProc is a gateway subprocess with its config file, data directory
// and fixed ports (kept across restarts).
type gatewayProc struct {
	t              testing.TB
	dir            string // the config file's directory
	configPath     string
	dataDir        string
	public, tunnel string
	proc           *proc
}

// newGateway writes a config for c but does not start the gateway (so a
// test can use the operator commands first).
func newGateway(t testing.TB, c gwConfig) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	g := &gatewayProc{t: t, dir: dir, configPath: filepath.Join(dir, "gatehouse.yaml"),
		dataDir: filepath.Join(dir, "data"), public: freeAddr(t), tunnel: freeAddr(t)}
	g.writeConfig(c)
	return g
}

// startGateway writes a config for c and starts a gateway on it. Should
// another process take one of the pre-picked ports first, it tries again
// with new ones.
func startGateway(t testing.TB, c gwConfig) *gatewayProc {
	t.Helper()
	g := newGateway(t, c)
	for attempt := 1; ; attempt++ {
		g.proc = startProc(g.t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
		if g.waitStarted() || attempt == 3 {
			break
		}
		t.Logf("gateway ports taken (%s, %s); trying others", g.public, g.tunnel)
		g.public, g.tunnel = freeAddr(t), freeAddr(t)
		g.writeConfig(c)
	}
	return g
}

// writeConfig replaces the config file atomically.
func (g *gatewayProc) writeConfig(c gwConfig) {
	g.t.Helper()
	g.writeConfigText(c.yaml(g.public, g.tunnel, g.dataDir))
}

func (g *gatewayProc) writeConfigText(text string) {
	g.t.Helper()
	tmp := g.configPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		g.t.Fatal(err)
	}
	if err := os.Rename(tmp, g.configPath); err != nil {
		g.t.Fatal(err)
	}
}

// start runs "gatehouse serve" and waits until both listeners accept:
// the public one completes a TLS handshake verified by the dev CA.
func (g *gatewayProc) start() {
	g.t.Helper()
	g.proc = startProc(g.t, "gateway", gatehouseBin, "serve", "--config", g.configPath)
	if !g.waitStarted() {
		g.t.Fatalf("the gateway could not bind its ports:\n%s", g.proc.log.tail(8<<10))
	}
}

// waitStarted waits until the gateway serves; it returns false if the
// gateway exited because one of its addresses was in use.
func (g *gatewayProc) waitStarted() bool {
	g.t.Helper()
	eventually(g.t, "the gateway to accept TLS on "+g.public, func() bool {
		if g.proc.exited() && strings.Contains(g.proc.log.String(), "address already in use") {
			return true
		}
		g.proc.requireAlive(g.t)
		if _, err := os.Stat(g.devCAFile()); err != nil {
			return false
		}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", g.public,
			&tls.Config{ServerName: "probe.localhost", RootCAs: g.caPool()})
		if err != nil {
			return false
		}
		c.Close()
		tc, err := net.DialTimeout("tcp", g.tunnel, time.Second)
		if err != nil {
			return false
		}
		tc.Close()
		return true
	})
	return !g.proc.exited()
}

// stop sends SIGTERM and waits for a clean exit.
func (g *gatewayProc) stop() {
	g.t.Helper()
	g.proc.signal(g.t, syscall.SIGTERM)
	if code := g.proc.wait(g.t); code != 0 {
		g.t.Fatalf("gateway exited with %d after SIGTERM; log:\n%s", code, g.proc.log.tail(8<<10))
	}
}

func (g *gatewayProc) devCAFile() string { return filepath.Join(g.dataDir, "dev-tls", "dev-ca.pem") }

// caPool trusts the gateway's development CA.
func (g *gatewayProc) caPool() *x509.CertPool {
	pem, err := os.ReadFile(g.devCAFile())
	if err != nil {
		g.t.Fatalf("reading the dev CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		g.t.Fatalf("%s holds no certificate", g.devCAFile())
	}
	return pool
}

// token runs "gatehouse token create" and returns the token it prints.
func (g *gatewayProc) token(group, ttl string) string {
	g.t.Helper()
	out, errOut, code := runCmd(g.t, g.dir, gatehouseBin, "token", "create", "--config", g.configPath, "--group", group, "--ttl", ttl)
	if code != 0 {
		g.t.Fatalf("token create exited %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

// connectorsCLI runs "gatehouse connectors" and returns its output.
func (g *gatewayProc) connectorsCLI() string {
	g.t.Helper()
	out, errOut, code := runCmd(g.t, g.dir, gatehouseBin, "connectors", "--config", g.configPath)
	if code != 0 {
		g.t.Fatalf("gatehouse connectors exited %d: %s", code, errOut)
	}
	return out
}

// log is the gateway's log (stderr) across restarts so far.
func (g *gatewayProc) log() *logBuffer { return &g.proc.log }

// freeAddr returns a loopback address with a port that was free a moment
// ago (see internal/freeport).
func freeAddr(t testing.TB) string {
	t.Helper()
	port, err := freeport.TCP()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
