package e2e

import (
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// clusterNode is one of several gateway nodes in tls.mode acme that share
// one PostgreSQL store (certificates, keys, the ACME account, challenge
// answers and certmagic's locks all live there).
type clusterNode struct {
	*acmeGateway
	name    string
	dsnFile string
}

// newClusterNode makes a node with its own data dir and the given ports.
func newClusterNode(t *testing.T, name, public, httpAddr, dsnFile string, p *pebbleServer) *clusterNode {
	dir := t.TempDir()
	return &clusterNode{name: name, dsnFile: dsnFile, acmeGateway: &acmeGateway{gatewayProc: &gatewayProc{t: t, dir: dir,
		configPath: filepath.Join(dir, "gatehouse.yaml"), dataDir: filepath.Join(dir, "data"),
		public: public, tunnel: freeAddr(t)}, http: httpAddr, pebble: p}}
}

// clusterConfig is the ACME test's config with the shared store.
func (n *clusterNode) clusterConfig(hosts ...string) string {
	return n.config("tls-alpn-01, http-01", hosts...) +
		fmt.Sprintf("store:\n  driver: postgres\n  dsn_file: %q\n", n.dsnFile)
}

// serial does a TLS handshake for host, verified against Pebble's root,
// and returns the leaf's serial number.
func (n *clusterNode) serial(t *testing.T, host string, roots *x509.CertPool) string {
	t.Helper()
	cert, err := n.handshake(host, roots)
	if err != nil {
		t.Fatalf("node %s: handshake for %s: %v", n.name, host, err)
	}
	if !slices.Contains(cert.DNSNames, host) {
		t.Fatalf("node %s: certificate for %q, want %s", n.name, cert.DNSNames, host)
	}
	return cert.SerialNumber.Text(16)
}

// locked counts the node's certmagic log lines saying it asks for the
// store lock to obtain a certificate for host.
func (n *clusterNode) locked(host string) int {
	return len(n.proc.log.lines("acquiring lock", host))
}

// obtained counts the node's certmagic log lines saying it is ordering a
// certificate for host.
func (n *clusterNode) obtained(host string) int {
	return len(n.proc.log.lines("obtaining certificate", host))
}

// TestAcmeCluster runs two gateway nodes on one PostgreSQL store against
// one Pebble: a certificate one node obtained is served by the other with
// no new order (also when that node starts later), hosts asked of both
// nodes at once get exactly one order, and a node whose listener the CA
// does not reach still gets certificates, the other node answering the
// challenge from the shared store. Pebble's log counts the orders.
func TestAcmeCluster(t *testing.T) {
	dsnFile := pgLabDSNFile(t)
	// Pebble validates on node A's ports only: like a CA reaching one of
	// several nodes behind a load balancer.
	aPublic, aHTTP := freeAddr(t), freeAddr(t)
	_, httpPort, _ := net.SplitHostPort(aHTTP)
	_, tlsPort, _ := net.SplitHostPort(aPublic)
	p := startPebble(t, httpPort, tlsPort)
	roots := p.roots(t)
	a := newClusterNode(t, "A", aPublic, aHTTP, dsnFile, p)
	b := newClusterNode(t, "B", freeAddr(t), freeAddr(t), dsnFile, p)

	// 1. Node A alone obtains a certificate: one order.
	hosts := []string{"first.cluster.test"}
	a.run(t, a.clusterConfig(hosts...))
	firstA := a.serial(t, "first.cluster.test", roots)
	if n := p.orders(); n != 1 {
		t.Fatalf("pebble saw %d orders for the first certificate, want 1", n)
	}

	// 2. Node B starts later and serves the same certificate: no order.
	b.run(t, b.clusterConfig(hosts...))
	if firstB := b.serial(t, "first.cluster.test", roots); firstB != firstA {
		t.Fatalf("node B serves serial %s, node A %s: want the same certificate", firstB, firstA)
	}
	if n := p.orders(); n != 1 {
		t.Fatalf("node B started on a store with the certificate and pebble saw %d orders, want 1", n)
	}

	// 3. A host added to both nodes by reload, asked of both at once.
	hosts = append(hosts, "race.cluster.test")
	a.reload(t, a.clusterConfig(hosts...))
	b.reload(t, b.clusterConfig(hosts...))
	serials := raceHandshakes(t, "race.cluster.test", roots, a, b)
	if n := p.orders(); n != 2 {
		t.Fatalf("a host asked of both nodes at once: pebble saw %d new orders, want 1 (served %v)", n-1, serials)
	}
	oneSerial(t, "race.cluster.test", serials)
	t.Logf("race.cluster.test: serials %v; store lock asked by A %d, B %d; orders placed by A %d, B %d",
		serials, a.locked("race.cluster.test"), b.locked("race.cluster.test"),
		a.obtained("race.cluster.test"), b.obtained("race.cluster.test"))

	// 4. A host asked of node B only: B orders, Pebble validates at node
	// A, which answers from the challenge B put in the store; A then
	// serves B's certificate with no order.
	hosts = append(hosts, "b.cluster.test")
	a.reload(t, a.clusterConfig(hosts...))
	b.reload(t, b.clusterConfig(hosts...))
	viaB := b.serial(t, "b.cluster.test", roots)
	if n := p.orders(); n != 3 {
		t.Fatalf("a host asked of node B: pebble saw %d new orders, want 1", n-2)
	}
	if n := b.obtained("b.cluster.test"); n != 1 {
		t.Fatalf("node B logged %d orders for b.cluster.test, want 1", n)
	}
	if viaA := a.serial(t, "b.cluster.test", roots); viaA != viaB {
		t.Fatalf("node A serves serial %s for b.cluster.test, node B %s: want the same certificate", viaA, viaB)
	}
	if n := p.orders(); n != 3 || a.obtained("b.cluster.test") != 0 {
		t.Fatalf("node A serving B's certificate: pebble saw %d orders (want 3), node A logged %d orders (want 0)",
			n, a.obtained("b.cluster.test"))
	}
}

// raceHandshakes does three handshakes for host on each node, all started
// at once, fails t unless every one succeeds, and returns the serials
// served, as "node:serial".
func raceHandshakes(t *testing.T, host string, roots *x509.CertPool, nodes ...*clusterNode) []string {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		serials []string
		errs    []string
		start   = make(chan struct{})
	)
	for _, n := range nodes {
		for range 3 {
			wg.Go(func() {
				<-start
				cert, err := n.handshake(host, roots)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Sprintf("node %s: %v", n.name, err))
					return
				}
				serials = append(serials, n.name+":"+cert.SerialNumber.Text(16))
			})
		}
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%s asked of both nodes at once: %d handshakes failed: %s", host, len(errs), strings.Join(errs, "; "))
	}
	return serials
}

// oneSerial fails t unless every "node:serial" in serials has one serial.
func oneSerial(t *testing.T, host string, serials []string) {
	t.Helper()
	_, first, _ := strings.Cut(serials[0], ":")
	for _, s := range serials {
		if _, serial, _ := strings.Cut(s, ":"); serial != first {
			t.Fatalf("%s: the nodes serve different certificates: %v", host, serials)
		}
	}
}

// startTogether starts the nodes on their configs at once and waits until
// all of them serve.
func startTogether(t *testing.T, nodes ...*clusterNode) {
	t.Helper()
	for _, n := range nodes {
		n.proc = startProc(t, "gateway "+n.name, gatehouseBin, "serve", "--config", n.configPath)
	}
	for _, n := range nodes {
		eventually(t, "node "+n.name+" to serve", func() bool {
			n.proc.requireAlive(t)
			return strings.Contains(n.proc.log.String(), "gateway serving")
		})
	}
}

// accounts is how many ACME accounts Pebble has registered so far.
func (p *pebbleServer) accounts() int {
	return p.proc.stdout.Count("accounts in memory") + p.proc.log.Count("accounts in memory")
}

// TestAcmeClusterColdStart starts two nodes at once on an empty store and
// asks both for the same host at once: certmagic's store lock lets one
// node register the ACME account and place the order, and the other
// serves the certificate from the store.
func TestAcmeClusterColdStart(t *testing.T) {
	dsnFile := pgLabDSNFile(t)
	aPublic, aHTTP := freeAddr(t), freeAddr(t)
	_, httpPort, _ := net.SplitHostPort(aHTTP)
	_, tlsPort, _ := net.SplitHostPort(aPublic)
	p := startPebble(t, httpPort, tlsPort)
	roots := p.roots(t)
	a := newClusterNode(t, "A", aPublic, aHTTP, dsnFile, p)
	b := newClusterNode(t, "B", freeAddr(t), freeAddr(t), dsnFile, p)
	const host = "cold.cluster.test"
	for _, n := range []*clusterNode{a, b} {
		n.writeConfigText(n.clusterConfig(host))
	}
	startTogether(t, a, b)
	serials := raceHandshakes(t, host, roots, a, b)
	if n := p.orders(); n != 1 {
		t.Fatalf("two new nodes asked for one host at once: pebble saw %d orders, want 1 (served %v)", n, serials)
	}
	oneSerial(t, host, serials)
	if n := p.accounts(); n != 1 {
		t.Fatalf("two new nodes on one store: pebble registered %d ACME accounts, want 1", n)
	}
	t.Logf("%s: serials %v; store lock asked by A %d, B %d; orders 1 (placed by A %d, B %d); accounts 1",
		host, serials, a.locked(host), b.locked(host), a.obtained(host), b.obtained(host))
}
