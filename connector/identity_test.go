package connector

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// The connector refuses a request to an app with sign-in unless its
// identity envelope verifies with the pinned gateway key, is for that app
// and has not expired; a refused request never reaches the backend.
func TestIdentityEnvelopeChecked(t *testing.T) {
	var hits atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer backend.Close()

	pub, priv, _ := ed25519.GenerateKey(nil)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	c := &Connector{envelopes: envelopes{key: pub}, log: slog.New(slog.DiscardHandler)}
	s := &session{c: c, log: c.log}
	table := &appTable{version: 1, apps: map[string]*app{}, changed: make(chan struct{})}
	for _, cfg := range []tunnel.AppConfig{
		{Name: "hr", URL: backend.URL, Identity: true},
		{Name: "wiki", URL: backend.URL},
	} {
		a, err := newApp(cfg, fastpath.All)
		if err != nil {
			t.Fatal(err)
		}
		table.apps[cfg.Name] = a
	}
	s.apps.Store(table)

	now := time.Now()
	sign := func(key ed25519.PrivateKey, app string, exp time.Time) []byte {
		b, err := tunnel.SignEnvelope(key, tunnel.Envelope{App: app, IssuedAt: now, Expires: exp, Identity: sdk.Identity{Subject: "alice"}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := sign(priv, "hr", now.Add(time.Hour))
	tampered := []byte(strings.Replace(string(good), "alice", "admin", 1))
	tests := []struct {
		name     string
		app      string
		envelope []byte
		want     int
	}{
		{"valid", "hr", good, 200},
		{"valid again (cached)", "hr", good, 200},
		{"tampered identity", "hr", tampered, 403},
		{"no envelope", "hr", nil, 403},
		{"signed by another key", "hr", sign(otherPriv, "hr", now.Add(time.Hour)), 403},
		{"issued for another app", "hr", sign(priv, "payroll", now.Add(time.Hour)), 403},
		{"expired", "hr", sign(priv, "hr", now.Add(-time.Second)), 403},
		{"garbage", "hr", []byte("\x01{not json}" + strings.Repeat("x", 64)), 403},
		{"passthrough app ignores envelopes", "wiki", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			resp := roundTripStream(t, s, tunnel.RequestHeader{App: tt.app, RequestID: "r", ConfigVersion: 1, Envelope: tt.envelope})
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			reached := hits.Load() - before
			if tt.want == 200 && reached != 1 || tt.want != 200 && reached != 0 {
				t.Fatalf("backend saw %d requests", reached)
			}
			if tt.want == 403 && resp.Header.Get(tunnel.ErrorHeader) != tunnel.ErrCodeIdentity {
				t.Fatalf("error code %q, want %q", resp.Header.Get(tunnel.ErrorHeader), tunnel.ErrCodeIdentity)
			}
		})
	}
}

// roundTripStream serves one request on an in-memory stream as the
// gateway would send it, and returns the connector's answer.
func roundTripStream(t *testing.T, s *session, hdr tunnel.RequestHeader) *http.Response {
	t.Helper()
	gw, conn := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serveStream(context.Background(), conn)
	}()
	defer func() { gw.Close(); <-done }()
	_ = gw.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest(http.MethodGet, "http://hr.example.com/", nil)
	go func() {
		bw := bufio.NewWriter(gw)
		bw.Write(tunnel.AppendRequestHeader(nil, hdr))
		req.Write(bw)
		bw.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(gw), req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
