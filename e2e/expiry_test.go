package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// TestExpiredTokenIsReportedAsExpired presents expired tokens to a gateway
// with an injected clock. The connector's operator must be told the token
// expired, whether or not the gateway's periodic sweep (every
// min(heartbeat_interval, 10s)) has run since it expired.
func TestExpiredTokenIsReportedAsExpired(t *testing.T) {
	t.Parallel()
	ig := startInprocGateway(t, oneApp("http://127.0.0.1:9")) // heartbeat 10s: no sweep during the first subtest
	enroll := func(t *testing.T, token string) string {
		t.Helper()
		c := startConnector(t, "connector", filepath.Join(t.TempDir(), "state"), "--token", token)
		if code := c.wait(t); code == 0 {
			t.Fatal("the connector enrolled with an expired token")
		}
		return c.log.String()
	}

	t.Run("before a sweep", func(t *testing.T) {
		tok := ig.token(t, "default", time.Hour)
		ig.clock.Advance(2 * time.Hour)
		if out := enroll(t, tok); !strings.Contains(out, "expired") {
			t.Fatalf("connector output does not say the token expired:\n%s", out)
		}
	})
	t.Run("after a sweep", func(t *testing.T) {
		tok := ig.token(t, "default", time.Hour)
		ig.clock.Advance(2 * time.Hour)
		ig.gw.Sweep(context.Background())
		if out := enroll(t, tok); !strings.Contains(out, "expired") {
			t.Fatalf("an expired token swept from the store is reported as unknown, not as expired:\n%s", out)
		}
	})
}

// TestSweepKeepsTheStoreBounded: the periodic sweep drops sign-in records
// older than 90 days and single-use locks an hour past their expiry, and
// keeps everything newer.
func TestSweepKeepsTheStoreBounded(t *testing.T) {
	t.Parallel()
	ig := startInprocGateway(t, oneApp("http://127.0.0.1:9"))
	ctx := context.Background()
	now := ig.clock.Now()
	for _, age := range []time.Duration{91 * 24 * time.Hour, 89 * 24 * time.Hour} {
		if err := ig.store.AddSignIn(ctx, store.SignIn{At: now.Add(-age), App: "demo", Subject: age.String(), Result: "signed_in"}); err != nil {
			t.Fatal(err)
		}
	}
	for name, expired := range map[string]time.Duration{"old": 2 * time.Hour, "recent": 30 * time.Minute} {
		if ok, err := ig.store.TryLock(ctx, name, "x", now.Add(-3*time.Hour), now.Add(-expired)); !ok || err != nil {
			t.Fatalf("TryLock(%s) = %v, %v", name, ok, err)
		}
	}
	ig.gw.Sweep(ctx)
	got, err := ig.store.ListSignIns(ctx, 10)
	if err != nil || len(got) != 1 || got[0].Subject != (89*24*time.Hour).String() {
		t.Fatalf("sign-ins after the sweep: %+v, %v; want only the 89-day-old one", got, err)
	}
	// A lock still in the store refuses a taker whose clock is behind.
	if ok, _ := ig.store.TryLock(ctx, "recent", "y", now.Add(-time.Hour), now); ok {
		t.Fatal("the sweep removed a lock expired only 30 minutes ago")
	}
	if ok, _ := ig.store.TryLock(ctx, "old", "y", now.Add(-3*time.Hour), now); !ok {
		t.Fatal("the sweep kept a lock expired two hours ago")
	}
}
