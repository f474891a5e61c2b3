package tunnelserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// updConn is a connector's side of one session to a hub on a real
// SQLite store, over yamux.
type updConn struct {
	hub     *Hub
	mux     *yamux.Session
	control net.Conn
	done    chan struct{}
}

func updHub(t *testing.T) *Hub {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddConnector(t.Context(), store.Connector{ID: "c-1", Group: "default", CertSerial: "1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Now()}
	return &Hub{Logger: slog.New(slog.DiscardHandler), Store: st, Registry: registry.New(clock, time.Minute), Clock: clock,
		Config: func(string) *tunnel.Config { return &tunnel.Config{Version: 1} }}
}

func dialHub(t *testing.T, h *Hub, hello tunnel.Hello) *updConn {
	t.Helper()
	server, client := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := &updConn{hub: h, done: make(chan struct{})}
	go func() { defer close(c.done); h.serveSession(ctx, server, "c-1", "1", h.Logger) }()
	t.Cleanup(func() { cancel(); client.Close(); <-c.done })
	var err error
	if c.mux, err = yamux.Client(client, tunnel.MuxConfig(h.Logger)); err != nil {
		t.Fatal(err)
	}
	if c.control, err = c.mux.OpenStream(); err != nil {
		t.Fatal(err)
	}
	c.send(t, tunnel.Message{Type: tunnel.MsgHello, Hello: &hello})
	c.read(t, tunnel.MsgConfig)
	return c
}

func (c *updConn) send(t *testing.T, m tunnel.Message) {
	t.Helper()
	if err := tunnel.WriteFrame(c.control, m); err != nil {
		t.Fatalf("sending %s: %v", m.Type, err)
	}
}

func (c *updConn) read(t *testing.T, want string) tunnel.Message {
	t.Helper()
	var m tunnel.Message
	if err := tunnel.ReadFrame(c.control, &m); err != nil || m.Type != want {
		t.Fatalf("want %s, got %+v, %v", want, m, err)
	}
	return m
}

// download asks for a release on a new stream and returns the answer.
func (c *updConn) download(t *testing.T, version string) (tunnel.ReleaseResponse, []byte) {
	t.Helper()
	st, err := c.mux.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := tunnel.WriteFrame(st, tunnel.ReleaseRequest{Type: tunnel.ReleaseStreamType, Version: version, OS: "linux", Arch: "amd64"}); err != nil {
		t.Fatal(err)
	}
	var resp tunnel.ReleaseResponse
	if err := tunnel.ReadFrame(st, &resp); err != nil {
		t.Fatalf("reading the release response: %v", err)
	}
	bin, err := io.ReadAll(st)
	if err != nil {
		t.Fatalf("reading the binary: %v", err)
	}
	return resp, bin
}

// A connector downloads a stored release on a stream it opens (size,
// then exactly the bytes); an unknown release gets an error; a stream
// that is not a release download closes the session.
func TestReleaseDownload(t *testing.T) {
	h := updHub(t)
	bin := bytes.Repeat([]byte("new connector "), 50000)
	sum := sha256.Sum256(bin)
	r, err := release.Sign(ed25519.NewKeyFromSeed(make([]byte, 32)), release.Manifest{Version: "v1.1.0", OS: "linux", Arch: "amd64",
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(bin))})
	if err != nil {
		t.Fatal(err)
	}
	if err := releases.Put(t.Context(), h.Store, r, bin); err != nil {
		t.Fatal(err)
	}
	c := dialHub(t, h, tunnel.Hello{Version: "v1.0.0", OS: "linux", Arch: "amd64"})
	resp, got := c.download(t, "v1.1.0")
	if resp.Error != "" || resp.Size != int64(len(bin)) || !bytes.Equal(got, bin) {
		t.Fatalf("download: %+v, %d bytes (want %d)", resp, len(got), len(bin))
	}
	resp, got = c.download(t, "v9.9.9")
	if resp.Error == "" || resp.Size != 0 || len(got) != 0 {
		t.Fatalf("unknown release: %+v, %d bytes", resp, len(got))
	}
	st, err := c.mux.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = st.Write([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session stayed open after a stream that is not a release download")
	}
}

// serveProbe answers one probe stream with status and returns its header.
func serveProbe(t *testing.T, mux *yamux.Session, status int) (tunnel.RequestHeader, *http.Request) {
	t.Helper()
	st, err := mux.AcceptStream()
	if err != nil {
		t.Fatalf("no probe stream: %v", err)
	}
	defer st.Close()
	br := bufio.NewReader(st)
	hdr, err := tunnel.ReadRequestHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		t.Fatal(err)
	}
	resp := &http.Response{StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}}
	if err := resp.Write(st); err != nil {
		t.Fatal(err)
	}
	return hdr, req
}

// A trial session is never attached (no user request reaches it); once
// ready it is probed with GET / for the probe app, and told it passed on
// 204, or refused on anything else.
func TestTrialProbe(t *testing.T) {
	h := updHub(t)
	c := dialHub(t, h, tunnel.Hello{Version: "v1.1.0", Trial: true, OS: "linux", Arch: "amd64"})
	c.send(t, tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1}})
	hdr, req := serveProbe(t, c.mux, http.StatusNoContent)
	if hdr.App != tunnel.ProbeApp || hdr.RequestID == "" || req.Method != http.MethodGet || req.URL.Path != "/" {
		t.Fatalf("probe: header %+v, %s %s", hdr, req.Method, req.URL)
	}
	c.read(t, tunnel.MsgTrialPassed)
	if n := len(h.Registry.List()); n != 0 {
		t.Fatalf("a trial session was attached to the registry (%d connectors)", n)
	}
	for _, s := range h.Live() {
		if s.Ready || !s.Trial {
			t.Fatalf("Live lists the trial as %+v", s)
		}
	}
	if err := h.SendUpdate("c-1", tunnel.Update{}); err != ErrNoSession {
		t.Fatalf("SendUpdate to a connector with only a trial session: %v", err)
	}

	bad := dialHub(t, h, tunnel.Hello{Version: "v1.1.0", Trial: true, OS: "linux", Arch: "amd64"})
	bad.send(t, tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1}})
	serveProbe(t, bad.mux, http.StatusBadGateway)
	if m := bad.read(t, tunnel.MsgError); m.Error == nil || m.Error.Fatal {
		t.Fatalf("a failed probe: %+v", m.Error)
	}
}

// An update reaches a ready session; the connector's status reports
// reach UpdateStatus.
func TestUpdateMessages(t *testing.T) {
	h := updHub(t)
	var mu sync.Mutex
	var got []tunnel.UpdateStatus
	h.UpdateStatus = func(id, group string, st tunnel.UpdateStatus) {
		mu.Lock()
		defer mu.Unlock()
		if id == "c-1" && group == "default" {
			got = append(got, st)
		}
	}
	c := dialHub(t, h, tunnel.Hello{Version: "v1.0.0", OS: "linux", Arch: "amd64"})
	c.send(t, tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1}})
	waitUntil(t, "the session to be ready", func() bool { l := h.Live(); return len(l) == 1 && l[0].Ready })
	if l := h.Live()[0]; l.Version != "v1.0.0" || l.OS != "linux" || l.Arch != "amd64" || l.Group != "default" {
		t.Fatalf("Live: %+v", l)
	}
	if err := h.SendUpdate("c-1", tunnel.Update{TrialTimeoutMillis: 1234}); err != nil {
		t.Fatal(err)
	}
	if m := c.read(t, tunnel.MsgUpdate); m.Update == nil || m.Update.TrialTimeoutMillis != 1234 {
		t.Fatalf("update: %+v", m.Update)
	}
	c.send(t, tunnel.Message{Type: tunnel.MsgUpdateStatus, UpdateStatus: &tunnel.UpdateStatus{Version: "v1.1.0", Phase: tunnel.PhaseDownloading}})
	waitUntil(t, "the status report", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	if got[0].Phase != tunnel.PhaseDownloading || got[0].Version != "v1.1.0" {
		t.Fatalf("status: %+v", got[0])
	}
}
