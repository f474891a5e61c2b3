package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// awaitRevocation: the gateway's applied_seq reaching the revocation's
// change ends the wait (exit 0); no gateway is exit 0 with the store
// message; a gateway that stays behind is an error naming what it
// applied; listen.admin off does not ask.
func TestAwaitRevocation(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.RevokeSessions(ctx, "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	seq, err := st.LastChange(ctx)
	if err != nil || seq <= 0 {
		t.Fatalf("LastChange = %d, %v; want the revocation's change", seq, err)
	}
	var applied atomic.Int64
	var asked atomic.Int32
	var sum atomic.Value
	sum.Store("sha-of-this-config")
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/status" {
			http.NotFound(w, r)
			return
		}
		if asked.Add(1) == 3 { // the gateway catches up after a few polls
			applied.Store(seq)
		}
		fmt.Fprintf(w, `{"version":"test","config_sha256":%q,"changes":{"applied_seq":%d}}`, sum.Load(), applied.Load())
	}))
	defer gw.Close()
	cfg := func(admin string) *config.Config {
		c := &config.Config{Path: "gatehouse.yaml", SHA256: "sha-of-this-config"}
		c.Listen.Admin = admin
		return c
	}
	run := func(admin string, wait time.Duration) (string, error) {
		var out bytes.Buffer
		err := awaitRevocation(ctx, cfg(admin), st, &out, wait)
		return out.String(), err
	}

	applied.Store(seq - 1)
	out, err := run(gw.Listener.Addr().String(), time.Minute)
	if err != nil || !strings.Contains(out, "applied the revocation") || asked.Load() < 3 {
		t.Fatalf("gateway catching up: %q, %v after %d polls; want applied after 3", out, err, asked.Load())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	out, err = run(dead, time.Minute)
	if err != nil || !strings.Contains(out, "no gateway answers") || !strings.Contains(out, "revocation is in the store") {
		t.Fatalf("no gateway: %q, %v; want the store message and no error", out, err)
	}

	out, err = run(config.AdminOff, time.Minute)
	if err != nil || !strings.Contains(out, "listen.admin is off") {
		t.Fatalf("admin off: %q, %v", out, err)
	}

	sum.Store("sha-of-another-config") // another gateway on the address
	out, err = run(gw.Listener.Addr().String(), time.Minute)
	if err != nil || !strings.Contains(out, "serves another config") {
		t.Fatalf("another gateway: %q, %v; want the store message and no error", out, err)
	}
	sum.Store("sha-of-this-config")

	applied.Store(seq - 1)
	asked.Store(100) // stays behind
	out, err = run(gw.Listener.Addr().String(), 200*time.Millisecond)
	want := fmt.Sprintf("applied the change feed only up to %d", seq-1)
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(out, "applied the revocation") {
		t.Fatalf("gateway behind: %q, %v; want an error containing %q", out, err, want)
	}
	if code := exitCode(err, &bytes.Buffer{}); code != 1 {
		t.Fatalf("gateway behind: exit code %d, want 1", code)
	}
}
