package connector

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/tunnel"
)

// probe sends the gateway's probe on a session and returns the status.
func probe(t *testing.T, s *fakeSession) int {
	t.Helper()
	st, err := s.mux.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	req := tunnel.AppendRequestHeader(nil, tunnel.RequestHeader{App: tunnel.ProbeApp, RequestID: "probe-1"})
	req = append(req, "GET / HTTP/1.1\r\nHost: probe\r\n\r\n"...)
	if _, err := st.Write(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(st), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A trial run says so in its hello, answers the probe with 204 without a
// backend, refuses updates, and Run returns nil on trial_passed.
func TestTrialAnswersProbeAndEndsOnTrialPassed(t *testing.T) {
	b := newTestBed(t)
	g := newFakeGateway(t, b.ca, "http://127.0.0.1:1") // no backend answers
	st := b.enroll(g.addr)
	c := New(st, Options{Sessions: 1, Trial: true, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	wantLive(t, g, 1)
	g.mu.Lock()
	s := g.sessions[0]
	g.mu.Unlock()
	if h := s.hello; !h.Trial || h.OS != runtime.GOOS || h.Arch != runtime.GOARCH {
		t.Fatalf("hello %+v; want trial with this OS and arch", h)
	}
	if code := probe(t, s); code != http.StatusNoContent {
		t.Fatalf("probe answered %d; want 204", code)
	}
	_ = s.send(tunnel.Message{Type: tunnel.MsgUpdate, Update: &tunnel.Update{}})
	waitFor(t, "the trial's refusal of an update", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.updates) == 1 && s.updates[0].Phase == tunnel.PhaseRefused
	})
	_ = s.send(tunnel.Message{Type: tunnel.MsgTrialPassed})
	if err := <-done; err != nil {
		t.Fatalf("Run after trial_passed: %v; want nil", err)
	}
}

// recordingUpdater stands in for connector/update (tested there): it
// records the updates a session hands it and has a rollback to report.
type recordingUpdater struct {
	mu      sync.Mutex
	updates []tunnel.Update
	opened  bool
}

func (r *recordingUpdater) Update(_ context.Context, u tunnel.Update, open func() (net.Conn, error), report func(tunnel.UpdateStatus)) {
	c, err := open()
	r.mu.Lock()
	r.updates, r.opened = append(r.updates, u), err == nil
	r.mu.Unlock()
	if c != nil {
		c.Close()
	}
	report(tunnel.UpdateStatus{Version: "v2.0.0", Phase: tunnel.PhaseDownloading})
}

func (r *recordingUpdater) Ready() *tunnel.UpdateStatus {
	return &tunnel.UpdateStatus{Version: "v2.0.0", Phase: tunnel.PhaseRolledBack, Error: "did not start"}
}

// A serving connector reports its updater's rollback on a ready session,
// hands MsgUpdate to the updater with a way to open streams on the same
// session, relays its status, and ignores trial_passed.
func TestSessionHandsUpdatesToUpdater(t *testing.T) {
	b := newTestBed(t)
	g := newFakeGateway(t, b.ca, b.backend)
	up := &recordingUpdater{}
	_, stop := b.start(b.enroll(g.addr), Options{Updater: up})
	wantLive(t, g, 2)
	g.mu.Lock()
	s := g.sessions[0]
	g.mu.Unlock()
	waitFor(t, "the rollback report", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.updates) == 1 && s.updates[0].Phase == tunnel.PhaseRolledBack
	})
	_ = s.send(tunnel.Message{Type: tunnel.MsgTrialPassed})
	_ = s.send(tunnel.Message{Type: tunnel.MsgUpdate, Update: &tunnel.Update{TrialTimeoutMillis: 1234}})
	waitFor(t, "the update's status", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.updates) == 2 && s.updates[1].Phase == tunnel.PhaseDownloading
	})
	up.mu.Lock()
	if len(up.updates) != 1 || up.updates[0].TrialTimeoutMillis != 1234 || !up.opened {
		t.Errorf("updater got %+v (stream opened: %v)", up.updates, up.opened)
	}
	up.mu.Unlock()
	wantOK(t, g, "/after-trial-passed")
	stop()
}
