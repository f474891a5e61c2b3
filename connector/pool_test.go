package connector

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// testBed is a CA, a backend, and an enrolled connector state on disk.
type testBed struct {
	t       *testing.T
	ca      *testCA
	backend string
	dir     string
	release chan struct{} // closed: /slow answers
	slow    atomic.Int64  // /slow requests arrived
}

func newTestBed(t *testing.T) *testBed {
	b := &testBed{t: t, ca: newTestCA(t, "gateway CA"), dir: t.TempDir(), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			b.slow.Add(1)
			<-b.release
		}
		io.WriteString(w, "hello from "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	b.backend = srv.URL
	return b
}

// enroll writes the state an enrollment with gateways would, and loads it.
func (b *testBed) enroll(gateways ...string) *State {
	certPEM, keyPEM := b.ca.issue(b.t, "c-1", nil, x509.ExtKeyUsageClientAuth)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	st := &State{ConnectorID: "c-1", Group: "default", Gateways: gateways, Bootstrap: gateways, EnvelopeKey: key}
	if err := st.save(b.dir, keyPEM, certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.ca.cert.Raw})); err != nil {
		b.t.Fatal(err)
	}
	return b.load()
}

func (b *testBed) load() *State {
	st, err := LoadState(b.dir)
	if err != nil {
		b.t.Fatal(err)
	}
	return st
}

// start runs a connector until the returned stop is called.
func (b *testBed) start(st *State, opts Options) (*Connector, func()) {
	opts.Sessions = 2
	opts.Logger = slog.New(slog.DiscardHandler)
	c := New(st, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				b.t.Errorf("Run: %v", err)
			}
		})
	}
	b.t.Cleanup(stop)
	return c, stop
}

func list(nodes ...tunnel.NodeInfo) *tunnel.NodeList { return &tunnel.NodeList{Nodes: nodes} }

func wantLive(t *testing.T, g *fakeGateway, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d live sessions on %s", n, g.addr), func() bool { l, _ := g.live(); return l == n })
}

func wantOK(t *testing.T, g *fakeGateway, path string) {
	t.Helper()
	code, body, err := g.request(path)
	if err != nil || code != 200 || body != "hello from "+path {
		t.Fatalf("GET %s through %s: %d %q, %v", path, g.addr, code, body, err)
	}
}

// A connector told about a second node dials it and serves through both;
// the list is saved, and a restart with no --gateway dials the saved
// nodes without being told again.
func TestLearnsNodesServesThroughAllAndSavesThem(t *testing.T) {
	b := newTestBed(t)
	a, n2 := newFakeGateway(t, b.ca, b.backend), newFakeGateway(t, b.ca, b.backend)
	_, stop := b.start(b.enroll(a.addr), Options{})
	wantLive(t, a, 2)
	a.setNodes(list(tunnel.NodeInfo{ID: "a", Addr: a.addr}, tunnel.NodeInfo{ID: "b", Addr: n2.addr}))
	wantLive(t, n2, 2)
	wantOK(t, a, "/via-a")
	wantOK(t, n2, "/via-b")
	if got := b.load().Gateways; !slices.Equal(got, []string{a.addr, n2.addr}) {
		t.Fatalf("saved gateways %v, want both nodes", got)
	}
	if got := b.load().Bootstrap; !slices.Equal(got, []string{a.addr}) {
		t.Fatalf("saved bootstrap %v, want the enrollment's address", got)
	}
	stop()

	// The restart: nobody sends a list any more.
	a.setNodes(nil)
	_, before := n2.live()
	b.start(b.load(), Options{})
	waitFor(t, "the restarted connector's sessions to the saved second node", func() bool {
		l, acc := n2.live()
		return l == 2 && acc == before+2
	})
	wantLive(t, a, 2)
	wantOK(t, n2, "/after-restart")
}

// A node that leaves the list is drained: the requests in flight on it
// finish, its sessions close, and no new one opens.
func TestNodeLeavingTheListIsDrainedWithoutFailingRequests(t *testing.T) {
	b := newTestBed(t)
	a, n2 := newFakeGateway(t, b.ca, b.backend), newFakeGateway(t, b.ca, b.backend)
	b.start(b.enroll(a.addr), Options{})
	both := list(tunnel.NodeInfo{Addr: a.addr}, tunnel.NodeInfo{Addr: n2.addr})
	a.setNodes(both)
	wantLive(t, n2, 2)

	const inflight = 4
	results := make(chan error, inflight)
	for i := range inflight {
		go func() {
			code, body, err := n2.request("/slow")
			if err == nil && (code != 200 || body != "hello from /slow") {
				err = fmt.Errorf("request %d: %d %q", i, code, body)
			}
			results <- err
		}()
	}
	waitFor(t, "the slow requests to reach the backend", func() bool { return b.slow.Load() == inflight })
	onlyA := list(tunnel.NodeInfo{Addr: a.addr})
	a.setNodes(onlyA)
	n2.setNodes(onlyA)
	waitFor(t, "the connector to drain the sessions to the node that left", func() bool { l, _ := n2.live(); return l == 0 })
	close(b.release)
	for range inflight {
		if err := <-results; err != nil {
			t.Errorf("a request in flight when its node left the list failed: %v", err)
		}
	}
	waitFor(t, "the drained sessions to close", func() bool {
		n2.mu.Lock()
		defer n2.mu.Unlock()
		for _, s := range n2.sessions {
			if !s.mux.IsClosed() {
				return false
			}
		}
		return true
	})
	a.sync()
	wantOK(t, a, "/still-served")
	if _, acc := n2.live(); acc != 2 {
		t.Fatalf("%d sessions to the node that left, want the 2 from before", acc)
	}
	if got := b.load().Gateways; !slices.Equal(got, []string{a.addr}) {
		t.Fatalf("saved gateways %v, want the one node left", got)
	}
}

// A draining node gets no new session; the open ones stay until the node
// closes them.
func TestDrainingNodeGetsNoNewSessions(t *testing.T) {
	b := newTestBed(t)
	a, n2 := newFakeGateway(t, b.ca, b.backend), newFakeGateway(t, b.ca, b.backend)
	c, _ := b.start(b.enroll(a.addr), Options{})
	a.setNodes(list(tunnel.NodeInfo{Addr: a.addr}, tunnel.NodeInfo{Addr: n2.addr}))
	wantLive(t, n2, 2)
	a.setNodes(list(tunnel.NodeInfo{Addr: a.addr}, tunnel.NodeInfo{Addr: n2.addr, Draining: true}))
	a.sync()
	waitFor(t, "the pool to mark the node draining", func() bool {
		p := c.pool.Load()
		p.mu.Lock()
		defer p.mu.Unlock()
		s := p.sups[n2.addr]
		return s != nil && s.noRedial.Load()
	})
	wantLive(t, n2, 2) // not drained by the connector
	wantOK(t, n2, "/draining-node-still-serves")
	n2.mu.Lock()
	for _, s := range n2.sessions {
		s.mux.Close() // the node finishes its drain
	}
	n2.mu.Unlock()
	waitFor(t, "the sessions to the draining node to end without a redial", func() bool {
		p := c.pool.Load()
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.sups[n2.addr] == nil
	})
	a.sync()
	if _, acc := n2.live(); acc != 2 {
		t.Fatalf("%d sessions to the draining node, want the 2 from before it drained", acc)
	}
	if got := b.load().Gateways; !slices.Equal(got, []string{a.addr}) {
		t.Fatalf("saved gateways %v, want the node that is not draining", got)
	}
}

// A malformed list is refused whole: the connector keeps the list it had,
// its sessions and its saved state.
func TestMalformedNodeListIsRefused(t *testing.T) {
	b := newTestBed(t)
	a, n2 := newFakeGateway(t, b.ca, b.backend), newFakeGateway(t, b.ca, b.backend)
	c, _ := b.start(b.enroll(a.addr), Options{})
	good := list(tunnel.NodeInfo{Addr: a.addr}, tunnel.NodeInfo{Addr: n2.addr})
	a.setNodes(good)
	wantLive(t, n2, 2)
	var tooMany []tunnel.NodeInfo
	for i := range tunnel.MaxNodes + 1 {
		tooMany = append(tooMany, tunnel.NodeInfo{Addr: fmt.Sprintf("127.0.0.1:%d", 1000+i)})
	}
	for _, bad := range []*tunnel.NodeList{
		list(tunnel.NodeInfo{Addr: a.addr}, tunnel.NodeInfo{Addr: "not-an-address"}),
		list(tunnel.NodeInfo{Addr: ":7443"}),
		{Nodes: tooMany},
		nil,
	} {
		a.mu.Lock()
		ss := slices.Clone(a.sessions)
		a.mu.Unlock()
		for _, s := range ss {
			_ = s.send(tunnel.Message{Type: tunnel.MsgNodes, Nodes: bad})
		}
		a.sync()
		p := c.pool.Load()
		p.mu.Lock()
		got := slices.Clone(p.nodes)
		p.mu.Unlock()
		if !slices.Equal(got, good.Nodes) {
			t.Fatalf("after a malformed list the connector has %v, want the previous %v", got, good.Nodes)
		}
	}
	wantLive(t, n2, 2)
	wantOK(t, n2, "/kept")
	if got := b.load().Gateways; !slices.Equal(got, []string{a.addr, n2.addr}) {
		t.Fatalf("saved gateways %v, want the good list", got)
	}
}

// offsetClock is the system clock moved forward by Advance.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time                         { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (c *offsetClock) Advance(d time.Duration)                { c.off.Add(int64(d)) }

// When no listed node answers for fallbackAfter, the connector dials its
// bootstrap addresses again, and not before.
func TestFallsBackToBootstrapWhenNoListedNodeAnswers(t *testing.T) {
	b := newTestBed(t)
	a := newFakeGateway(t, b.ca, b.backend)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	st := b.enroll(a.addr)
	st.Gateways = []string{deadAddr} // a list learned earlier; its node is gone
	var deadDials atomic.Int64
	clock := &offsetClock{}
	dialer := &net.Dialer{}
	b.start(st, Options{Clock: clock, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == deadAddr {
			deadDials.Add(1)
		}
		return dialer.DialContext(ctx, network, addr)
	}})
	waitFor(t, "the connector to try the listed node", func() bool { return deadDials.Load() >= 2 })
	if _, acc := a.live(); acc != 0 {
		t.Fatalf("%d sessions to the bootstrap address before the fallback delay passed", acc)
	}
	clock.Advance(fallbackAfter + time.Second)
	wantLive(t, a, 2)
	wantOK(t, a, "/fallback")
	if got := b.load().Gateways; !slices.Equal(got, []string{a.addr}) {
		t.Fatalf("saved gateways %v changed without a list from the gateway", got)
	}
}
