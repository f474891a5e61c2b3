package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
