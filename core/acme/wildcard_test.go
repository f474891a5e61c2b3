package acme

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

// TestIssueLimits checks the per-wildcard limit of new certificates:
// counted per wildcard app over an hour, not for renewals or other hosts.
func TestIssueLimits(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newIssueLimits(func(host string) (string, int) {
		if strings.HasSuffix(host, ".apps.test") {
			return "*.apps.test", 2
		}
		return "", 0
	}, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	obtain := func(name string, renewal bool) error {
		return l.onEvent(context.Background(), "cert_obtaining", map[string]any{"identifier": name, "renewal": renewal})
	}
	for _, n := range []string{"a.apps.test", "b.apps.test"} {
		if err := obtain(n, false); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	err := obtain("c.apps.test", false)
	var noRetry certmagic.ErrNoRetry
	if !errors.Is(err, ErrWildcardLimit) || !errors.As(err, &noRetry) {
		t.Fatalf("third new name: %v, want ErrWildcardLimit without retries", err)
	}
	if err := obtain("a.apps.test", true); err != nil {
		t.Errorf("renewal refused: %v", err)
	}
	if err := obtain("exact.example.com", false); err != nil {
		t.Errorf("a name of no wildcard refused: %v", err)
	}
	if err := l.onEvent(context.Background(), "cert_obtained", map[string]any{"identifier": "d.apps.test"}); err != nil {
		t.Errorf("other event refused: %v", err)
	}
	now = now.Add(time.Hour)
	if err := obtain("c.apps.test", false); err != nil {
		t.Errorf("an hour later: %v", err)
	}
}
