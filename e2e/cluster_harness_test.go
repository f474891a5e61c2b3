package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clusterLab is several gateway nodes (real bin/gatehouse processes) on
// one private PostgreSQL (scripts/pglab.sh), behind one real HAProxy,
// serving apps whose certificate (from a CA made for the test) every node
// has, so one client trusts every node.
type clusterLab struct {
	t       *testing.T
	dsnFile string
	be      *backend
	pool    *x509.CertPool // trusts the apps' certificate
	base    gwConfig
	apps    []appSpec
	nodes   []*clusterGW
	lb      *haproxyLB
	// noClusterKeys: the gateway refused the cluster: and shutdown: keys
	// (the issue 18 wiring is missing), so the nodes run without them and
	// the test has already failed saying so.
	noClusterKeys bool
}

// clusterGW is one gateway node: its ports are picked before HAProxy
// starts (HAProxy lists every node, the later ones too) and kept.
type clusterGW struct {
	*gatewayProc
	id    string // cluster.node_id
	admin string // listen.admin, health-checked by HAProxy
}

// The cluster's apps: "app" (passthrough, the load's target) and "sso"
// (signed in by the custom-SSO plug-in with an API key, then by the
// session cookie; its sessions are what "sessions revoke" ends).
const (
	clusterAppHost = "app.localhost"
	clusterSSOHost = "sso.localhost"
	clusterAPIKey  = "k-alice"
)

// newClusterLab makes the lab: PostgreSQL, the backend, the apps'
// certificate and the configs of nodes ids (none started), then starts
// HAProxy with all of them listed.
func newClusterLab(t *testing.T, ids ...string) *clusterLab {
	t.Helper()
	haproxyBin(t) // skip before starting anything when it is missing
	lab := &clusterLab{t: t, dsnFile: pgLabDSNFile(t), be: newBackend(t)}
	ca := newTestCA(t)
	cert := ca.issue(t, nil, clusterAppHost, clusterSSOHost)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "apps.pem"), filepath.Join(dir, "apps-key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEMFile(t, certFile, "CERTIFICATE", cert.Certificate[0])
	writePEMFile(t, keyFile, "PRIVATE KEY", keyDER)
	lab.pool = x509.NewCertPool()
	lab.pool.AddCert(ca.cert)

	lab.base = gwConfig{Groups: []string{"default"}, Heartbeat: "1s", InactiveAfter: "3s",
		Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, fileSum(t, customSSOBin))}
	apiKey := fmt.Sprintf("{plugin: apikeys, config: {header: X-Api-Key, keys: [{sha256: %s, subject: alice, groups: [staff]}]}}",
		sha256Hex(clusterAPIKey))
	lab.apps = []appSpec{
		{Name: "app", Host: clusterAppHost, Group: "default", URL: lab.be.URL, CertFile: certFile, KeyFile: keyFile},
		{Name: "sso", Host: clusterSSOHost, Group: "default", URL: lab.be.URL, CertFile: certFile, KeyFile: keyFile, Auth: apiKey},
	}
	var servers []lbServer
	for _, id := range ids {
		n := &clusterGW{gatewayProc: newGateway(t, lab.base), id: id, admin: freeAddr(t)}
		lab.nodes = append(lab.nodes, n)
		servers = append(servers, lbServer{Name: id, Public: n.public, Admin: n.admin})
	}
	lab.checkClusterKeys()
	for _, n := range lab.nodes {
		n.writeConfigText(lab.nodeYAML(n))
	}
	lab.lb = startHAProxy(t, servers)
	return lab
}

// nodeYAML is node n's config: the shared apps and plug-ins, its own
// ports, listen.admin, tunnel.advertise (its tunnel address, which
// connectors dial), the shared store, cluster.node_id and
// shutdown.drain_delay.
func (lab *clusterLab) nodeYAML(n *clusterGW) string {
	text := specYAML(lab.base, lab.apps, n.public, n.tunnel, n.dataDir)
	text = strings.Replace(text, "\ntunnel:\n", fmt.Sprintf("\n  admin: %q\ntunnel:\n  advertise: [%q]\n", n.admin, n.tunnel), 1)
	text += fmt.Sprintf("store:\n  driver: postgres\n  dsn_file: %q\n", lab.dsnFile)
	if !lab.noClusterKeys {
		text += fmt.Sprintf("cluster:\n  node_id: %s\nshutdown:\n  drain_delay: 2s\n", n.id)
	}
	return text
}

// checkClusterKeys runs "gatehouse config check" on the first node's
// config. Should the gateway not know cluster: or shutdown: yet, the test
// fails (it cannot pass without them) but goes on without the keys, so
// that every other assertion still runs and reports.
func (lab *clusterLab) checkClusterKeys() {
	t, n := lab.t, lab.nodes[0]
	n.writeConfigText(lab.nodeYAML(n))
	out, errOut, code := runCmd(t, n.dir, gatehouseBin, "config", "check", n.configPath)
	if code == 0 {
		return
	}
	msg := out + errOut
	if !strings.Contains(msg, "cluster") && !strings.Contains(msg, "shutdown") {
		t.Fatalf("gatehouse config check refused a cluster node's config (exit %d):\n%s", code, msg)
	}
	t.Errorf("WIRING MISSING: the gateway refuses cluster.node_id / shutdown.drain_delay; running the nodes without them:\n%s", short(msg, 600))
	lab.noClusterKeys = true
}

// node returns the node named id.
func (lab *clusterLab) node(id string) *clusterGW {
	for _, n := range lab.nodes {
		if n.id == id {
			return n
		}
	}
	lab.t.Fatalf("no node %s", id)
	return nil
}

// start starts node n on its pre-picked ports (HAProxy already lists
// them, so they are not changed should one be taken).
func (lab *clusterLab) start(n *clusterGW) {
	lab.t.Helper()
	n.proc = startProc(lab.t, "gateway "+n.id, gatehouseBin, "serve", "--config", n.configPath)
	if !n.waitStarted() {
		lab.t.Fatalf("node %s could not bind its ports (%s %s %s):\n%s", n.id, n.public, n.tunnel, n.admin, n.proc.log.tail(8<<10))
	}
	eventually(lab.t, "node "+n.id+" to be ready on /readyz", func() bool {
		n.proc.requireAlive(lab.t)
		code, _ := readyz(lab.t, n.admin)
		return code == http.StatusOK
	})
}

// client sends every request to addr (HAProxy's frontend or one node's
// public port) over HTTP/1.1, trusting the apps' certificate.
func (lab *clusterLab) client(addr string) *http.Client {
	return newClient(addr, &tls.Config{RootCAs: lab.pool}, false)
}

// clusterConnector is /api/v1/connectors' view of one connector.
type clusterConnector struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Sessions int    `json:"sessions"`
}

// connectors asks node n's admin API which connectors hold sessions to
// it: sessions by connector id (connectors with none are left out).
func (n *clusterGW) connectors(t testing.TB) (map[string]int, error) {
	t.Helper()
	code, body := adminGet(t, n.admin, "/api/v1/connectors")
	if code != http.StatusOK {
		return nil, fmt.Errorf("node %s /api/v1/connectors: %d %s", n.id, code, short(body, 200))
	}
	var out struct {
		Connectors []clusterConnector `json:"connectors"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return nil, fmt.Errorf("node %s /api/v1/connectors: %v in %s", n.id, err, short(body, 200))
	}
	m := map[string]int{}
	for _, c := range out.Connectors {
		if c.Sessions > 0 {
			m[c.ID] = c.Sessions
		}
	}
	return m, nil
}

// hasSessions reports whether every connector in ids holds a session to n.
func (n *clusterGW) hasSessions(t testing.TB, ids ...string) bool {
	m, err := n.connectors(t)
	if err != nil {
		return false
	}
	for _, id := range ids {
		if m[id] == 0 {
			return false
		}
	}
	return true
}

// waitUntil polls cond every 10 ms until it holds or bound passes, and
// returns how long it took and whether it held.
func waitUntil(from time.Time, bound time.Duration, cond func() bool) (time.Duration, bool) {
	for {
		if cond() {
			return time.Since(from), true
		}
		if time.Since(from) > bound {
			return time.Since(from), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// signIn signs alice in to the sso app on node n with the API key and
// returns her session cookie ("name=value").
func (lab *clusterLab) signIn(t *testing.T, n *clusterGW) string {
	t.Helper()
	c := lab.client(n.public)
	var r response
	eventually(t, "alice signed in on node "+n.id, func() bool {
		r = getWith(t, c, "https://"+clusterSSOHost+"/hit?signin", "X-Api-Key", clusterAPIKey)
		return r.Status == http.StatusOK
	})
	for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
		if sc.Name == "__Host-gatehouse.sso" {
			return sc.Name + "=" + sc.Value
		}
	}
	t.Fatalf("node %s set no session cookie for sso (Set-Cookie %q)", n.id, r.Header.Values("Set-Cookie"))
	return ""
}

// withCookie GETs the sso app on node n with cookie only.
func (lab *clusterLab) withCookie(t *testing.T, n *clusterGW, cookie string) int {
	t.Helper()
	req := mustRequest(t, "https://"+clusterSSOHost+"/hit?cookie")
	req.Header.Set("Cookie", cookie)
	r, err := do(t, lab.client(n.public), req)
	if err != nil {
		return 0
	}
	return r.Status
}
