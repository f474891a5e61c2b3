package e2e

import (
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// haproxyLB is a real HAProxy (Debian's, installed by scripts/haproxylab.sh)
// in front of the gateway nodes, run in the foreground as a child process:
// TCP passthrough to each node's public port, health-checked on each
// node's /readyz (admin listener), with retries and redispatch so that a
// refused connect goes to another node.
type haproxyLB struct {
	proc     *proc
	addr     string // the frontend, host:port
	sock     string // the stats socket
	cfgPath  string
	backends []lbServer
}

// lbServer is one gateway node as HAProxy sees it.
type lbServer struct {
	Name, Public, Admin string // host:port each
}

// haproxyBin finds haproxy: $HAPROXY_BIN, PATH, /usr/sbin. When it is
// missing t is skipped, saying how to install it (in CI a skip fails the run).
func haproxyBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HAPROXY_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	t.Skip("SKIPPING: haproxy is not installed: run scripts/haproxylab.sh install (make tools) as root")
	return ""
}

// haproxyConfig renders the load balancer's config. The health check
// sends "Host: localhost": the admin listener answers loopback names only
// (421 otherwise, which HAProxy would count as a failed check).
func haproxyConfig(front, sock string, servers []lbServer) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 4096
  stats socket %s mode 600 level admin
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout check 1s
  retries 3
  option redispatch
frontend gatehouse
  bind %s
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk
  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
  http-check expect status 200
`, sock, front)
	for _, s := range servers {
		_, adminPort, _ := net.SplitHostPort(s.Admin)
		fmt.Fprintf(&b, "  server %s %s check port %s inter 300ms fall 2 rise 1\n", s.Name, s.Public, adminPort)
	}
	return b.String()
}

// startHAProxy starts haproxy for servers (nodes not started yet are
// listed all the same: the health check finds them when they come up)
// and waits until its frontend accepts and its stats socket answers.
func startHAProxy(t *testing.T, servers []lbServer) *haproxyLB {
	t.Helper()
	bin := haproxyBin(t)
	dir := t.TempDir()
	lb := &haproxyLB{addr: freeAddr(t), sock: filepath.Join(dir, "haproxy.sock"),
		cfgPath: filepath.Join(dir, "haproxy.cfg"), backends: servers}
	if err := os.WriteFile(lb.cfgPath, []byte(haproxyConfig(lb.addr, lb.sock, servers)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", lb.cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c refused the generated config %s: %v\n%s", lb.cfgPath, err, out)
	}
	lb.proc = startProc(t, "haproxy", bin, "-f", lb.cfgPath, "-db")
	eventually(t, "haproxy to accept on "+lb.addr+" and answer on its stats socket", func() bool {
		lb.proc.requireAlive(t)
		c, err := net.DialTimeout("tcp", lb.addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		_, err = lb.stats()
		return err == nil
	})
	return lb
}

// stats asks the stats socket "show stat" and returns each server's row
// by name, as column name -> value ("status": UP, DOWN, "UP 1/2", NOLB,
// MAINT, ...; "stot": connections so far).
func (lb *haproxyLB) stats() (map[string]map[string]string, error) {
	c, err := net.DialTimeout("unix", lb.sock, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "show stat\n"); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(c)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("show stat: %v (%q)", err, short(string(raw), 200))
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	servers := map[string]map[string]string{}
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) || row[col["pxname"]] != "nodes" {
			continue
		}
		m := map[string]string{}
		for name, i := range col {
			m[name] = row[i]
		}
		servers[row[col["svname"]]] = m
	}
	return servers, nil
}

// status is one server's status, or "?" with the error.
func (lb *haproxyLB) status(name string) string { return lb.column(name, "status") }

// column is one value of server name's row, or "?" with the error.
func (lb *haproxyLB) column(name, col string) string {
	s, err := lb.stats()
	if err != nil {
		return "? (" + err.Error() + ")"
	}
	return s[name][col]
}

// waitStatus waits until HAProxy reports server name with a status
// starting with want ("UP", "DOWN") and returns when it saw it.
func (lb *haproxyLB) waitStatus(t *testing.T, name, want string) time.Time {
	t.Helper()
	var last string
	eventually(t, "haproxy to report "+name+" "+want, func() bool {
		lb.proc.requireAlive(t)
		last = lb.status(name)
		return strings.HasPrefix(last, want)
	})
	return time.Now()
}
