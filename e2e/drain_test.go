package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// drainBackend answers every method on any path with what it received:
// "METHOD PATH ID BODYLEN SHA256-PREFIX". /slow requests are held until
// release is closed. It records the client port of every request, so a
// test can tell which connector sent it.
type drainBackend struct {
	URL     string
	Port    int
	release chan struct{}
	arrived chan int // the client port of each /slow request, on arrival

	mu    sync.Mutex
	ports []int // client port of every request, in arrival order
}

func newDrainBackend(t testing.TB) *drainBackend {
	t.Helper()
	b := &drainBackend{release: make(chan struct{}), arrived: make(chan int, 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, p, _ := net.SplitHostPort(r.RemoteAddr)
		port, _ := strconv.Atoi(p)
		b.mu.Lock()
		b.ports = append(b.ports, port)
		b.mu.Unlock()
		if r.URL.Path == "/slow" {
			b.arrived <- port
			select {
			case <-b.release:
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, drainAnswer(r.Method, r.URL.Path, r.URL.Query().Get("id"), body))
	}))
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	b.Port, _ = strconv.Atoi(srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
	return b
}

func drainAnswer(method, path, id string, body []byte) string {
	sum := sha256.Sum256(body)
	return fmt.Sprintf("%s %s %s %d %x", method, path, id, len(body), sum[:8])
}

// portsSince returns the client ports of the requests after the first n.
func (b *drainBackend) portsSince(n int) []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.ports[n:]...)
}

func (b *drainBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ports)
}

// backendPorts returns the local ports of pid's connections to port.
func backendPorts(t testing.TB, pid, port int) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	for _, s := range processSockets(t, pid) {
		if (s.Table == "tcp" || s.Table == "tcp6") && int(s.Remote.Port()) == port {
			out[int(s.Local.Port())] = true
		}
	}
	return out
}

// drainRequest builds request i of a mixed load: GET, POST and PUT with
// bodies of up to 64 KiB, DELETE; and the answer it must get.
func drainRequest(t testing.TB, host, path, id string, i int) (*http.Request, string) {
	t.Helper()
	method := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}[i%4]
	var body []byte
	if method == http.MethodPost || method == http.MethodPut {
		body = bytes.Repeat([]byte{byte('a' + i%26)}, (i*7919)%(64<<10)+1)
	}
	req, err := http.NewRequest(method, "https://"+host+path+"?id="+id, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req, drainAnswer(method, path, id, body)
}

// TestDrainUnderLoad runs mixed-method load through two gateway nodes
// (sharing a store) onto two connectors of one group, holds slow requests
// on connector-a, and sends connector-a SIGTERM. Connector-a must drain
// on both gateways (two sessions each), get no new request once they
// acknowledged, finish its held requests, and exit 0; no request of any
// method may fail.
func TestDrainUnderLoad(t *testing.T) {
	be := newDrainBackend(t)
	cfg := oneApp(be.URL)
	gA := startGateway(t, cfg)
	gB := newGateway(t, cfg)
	gB.writeConfigText(cfg.yaml(gB.public, gB.tunnel, gB.dataDir) +
		fmt.Sprintf("store:\n  path: %q\n", filepath.Join(gA.dataDir, "gatehouse.db")))
	gB.start()
	gateways := gA.tunnel + "," + gB.tunnel
	var conns []*connectorProc
	for _, name := range []string{"connector-a", "connector-b"} {
		c := startConnector(t, name, filepath.Join(t.TempDir(), name),
			"--token", gA.token("default", "1h"), "--gateway", gateways, "--drain-timeout", "60s")
		c.waitReady(t, 4)
		conns = append(conns, c)
	}
	a, b := conns[0], conns[1]
	aID := a.id(t)
	for _, g := range []*gatewayProc{gA, gB} {
		for _, c := range conns {
			g.log().waitLines(t, c.name+"'s sessions attached to "+g.public, 2, "connector session ready", "connector="+c.id(t))
		}
	}
	clients := []*http.Client{gA.client(false), gB.client(false)}
	for _, c := range clients {
		waitServing(t, c, "https://app.localhost/warm")
	}

	// Steady load: 6 workers, 3 per gateway, mixed methods.
	var ok atomic.Int64
	var started [6]atomic.Int64        // requests each worker began
	var okBy, failedBy [4]atomic.Int64 // by i%4: GET, POST, PUT, DELETE
	var failures logBuffer
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w%2]
			for i := 0; i < 50000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				started[w].Add(1)
				id := fmt.Sprintf("w%d-%d", w, i)
				req, want := drainRequest(t, "app.localhost", "/r", id, i)
				r, err := do(t, c, req)
				if err != nil || r.Status != http.StatusOK || r.Body != want {
					failedBy[i%4].Add(1)
					fmt.Fprintf(&failures, "%s %s: err=%v status=%d body=%.200q\n", req.Method, id, err, r.Status, r.Body)
					continue
				}
				okBy[i%4].Add(1)
				ok.Add(1)
			}
		}()
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)
	eventually(t, "both connectors to relay requests", func() bool {
		return ok.Load() >= 200 && connectedTo(t, a.pid(), be.Port) && connectedTo(t, b.pid(), be.Port)
	})

	// Slow requests (GET and POST), held at the backend, until at least
	// three are in flight on connector-a.
	type slowResult struct {
		want string
		r    response
		err  error
	}
	results := make(chan slowResult, 64)
	onA, sent := 0, 0
	for onA < 3 {
		if sent == 40 {
			t.Fatalf("40 slow requests sent, only %d went through connector-a", onA)
		}
		req, want := drainRequest(t, "app.localhost", "/slow", fmt.Sprintf("slow-%d", sent), sent%2)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		t.Cleanup(cancel)
		c := clients[sent%2]
		go func() {
			r, err := do(t, c, req.WithContext(ctx))
			results <- slowResult{want, r, err}
		}()
		sent++
		var port int
		select {
		case port = <-be.arrived:
		case <-time.After(waitFor):
			t.Fatalf("slow request %d did not reach the backend", sent)
		}
		if backendPorts(t, a.pid(), be.Port)[port] {
			onA++
		}
	}

	a.signal(t, syscall.SIGTERM)
	for _, g := range []*gatewayProc{gA, gB} {
		g.log().waitLines(t, "gateway "+g.public+" to stop sending connector-a requests", 2,
			"connector session draining", "connector="+aID)
	}
	a.log.waitLines(t, "connector-a's 4 sessions to be acknowledged", 4, "drain acknowledged")
	if a.exited() {
		t.Fatalf("connector-a exited while %d of its requests were still held at the backend", onA)
	}
	// No new request reaches connector-a: once every request that was in
	// flight at the acknowledgements is over (each worker began another),
	// 200 more, none of them from one of its connections.
	var snap [6]int64
	for w := range snap {
		snap[w] = started[w].Load()
	}
	eventually(t, "the requests in flight at the acknowledgement to end", func() bool {
		for w := range snap {
			if started[w].Load() <= snap[w] {
				return false
			}
		}
		return true
	})
	mark := be.count()
	okAtMark := ok.Load()
	eventually(t, "200 more requests after the drain", func() bool { return ok.Load() >= okAtMark+200 })
	aPorts := backendPorts(t, a.pid(), be.Port)
	for _, p := range be.portsSince(mark) {
		if aPorts[p] {
			t.Fatalf("connector-a (drained) sent the backend a request on its connection from port %d", p)
		}
	}
	if a.exited() {
		t.Fatal("connector-a exited before its held requests were released")
	}

	close(be.release)
	if code := a.wait(t); code != 0 {
		t.Fatalf("connector-a exited %d after draining; log:\n%s", code, a.log.tail(8<<10))
	}
	a.log.waitLines(t, "connector-a to report the drain", 1, "drained: every request in flight finished")
	for range sent {
		res := <-results
		if res.err != nil || res.r.Status != http.StatusOK || res.r.Body != res.want {
			t.Fatalf("a slow request held across the drain failed: err=%v status=%d body=%q, want %q",
				res.err, res.r.Status, res.r.Body, res.want)
		}
	}
	afterExit := ok.Load()
	eventually(t, "200 more requests after connector-a exited", func() bool { return ok.Load() >= afterExit+200 })
	stopLoad()
	b.requireAlive(t)

	t.Logf("%d requests ok (GET %d, POST %d, PUT %d, DELETE %d); %d slow requests held across the drain, %d on connector-a",
		ok.Load(), okBy[0].Load(), okBy[1].Load(), okBy[2].Load(), okBy[3].Load(), sent, onA)
	var failed int64
	for i := range failedBy {
		failed += failedBy[i].Load()
	}
	if failed > 0 {
		lines := strings.SplitN(failures.String(), "\n", 11)
		t.Fatalf("%d requests failed during the drain (GET %d, POST %d, PUT %d, DELETE %d); first ones:\n%s", failed,
			failedBy[0].Load(), failedBy[1].Load(), failedBy[2].Load(), failedBy[3].Load(), strings.Join(lines[:min(len(lines), 10)], "\n"))
	}
}

// TestDrainBounded: a drain that outlasts --drain-timeout cuts the
// request it waited for and exits 1; during a drain, a second SIGTERM
// stops the connector at once, without waiting for the held request.
func TestDrainBounded(t *testing.T) {
	be := newDrainBackend(t)
	t.Cleanup(func() { close(be.release) })
	g := startGateway(t, oneApp(be.URL))
	c := g.client(false)
	for _, tc := range []struct {
		name, timeout string
		second        bool // send a second SIGTERM once the drain is acknowledged
		want          string
	}{
		{"drain timeout", "1s", false, "drain timeout passed; stopping with requests still in flight"},
		{"second signal", "60s", true, "second signal: stopping at once"},
	} {
		conn := startConnector(t, "connector "+tc.name, filepath.Join(t.TempDir(), "c"),
			"--token", g.token("default", "1h"), "--drain-timeout", tc.timeout)
		conn.waitReady(t, 2)
		waitServing(t, c, "https://app.localhost/warm")
		held := make(chan response, 1)
		go func() {
			r, _ := do(t, c, mustRequest(t, "https://app.localhost/slow?id="+tc.timeout))
			held <- r
		}()
		select {
		case <-be.arrived:
		case <-time.After(waitFor):
			t.Fatalf("%s: the slow request did not reach the backend", tc.name)
		}
		conn.signal(t, syscall.SIGTERM)
		conn.log.waitLines(t, tc.name+": both sessions acknowledged", 2, "drain acknowledged")
		if tc.second {
			conn.signal(t, syscall.SIGTERM)
		}
		if code := conn.wait(t); code != 1 {
			t.Fatalf("%s: the connector exited %d with a request still held, want 1", tc.name, code)
		}
		if len(conn.log.lines(tc.want)) == 0 || len(conn.log.lines("drained: every request in flight finished")) != 0 {
			t.Fatalf("%s: the log does not say %q (or claims a full drain):\n%s", tc.name, tc.want, conn.log.tail(4<<10))
		}
		if r := <-held; r.Status == http.StatusOK {
			t.Fatalf("%s: the held request was answered %d %q although its connector stopped before the backend answered", tc.name, r.Status, r.Body)
		}
	}
}
