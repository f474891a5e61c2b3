package acme

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// ErrWildcardLimit is the handshake error for a name of a wildcard app
// whose limit of new certificates per hour is used up.
var ErrWildcardLimit = errors.New("the wildcard app's limit of new certificates per hour is reached")

// limitWindow is the window of the per-wildcard limit.
const limitWindow = time.Hour

// issueLimits counts the certificates obtained for the names of each
// wildcard app, so that a client making up names under a wildcard cannot
// make the gateway ask the CA for certificate after certificate (the CA
// has limits of its own, and reaching them would stop issuance for every
// host). Renewals and names that are not a wildcard's do not count. The
// count is per gateway node.
type issueLimits struct {
	wildcard func(host string) (string, int)
	now      func() time.Time
	log      *slog.Logger

	mu     sync.Mutex
	issued map[string][]time.Time // by wildcard app host: the last hour's new certificates
}

func newIssueLimits(wildcard func(string) (string, int), now func() time.Time, log *slog.Logger) *issueLimits {
	return &issueLimits{wildcard: wildcard, now: now, log: log, issued: map[string][]time.Time{}}
}

// onEvent is certmagic's OnEvent: it aborts the obtaining of a new
// certificate for a wildcard app's name past the app's limit, without
// retries (the next handshake for the name asks again).
func (l *issueLimits) onEvent(_ context.Context, event string, data map[string]any) error {
	if event != "cert_obtaining" || l.wildcard == nil {
		return nil
	}
	if renewal, _ := data["renewal"].(bool); renewal {
		return nil
	}
	name, _ := data["identifier"].(string)
	if err := l.take(strings.ToLower(name)); err != nil {
		return certmagic.ErrNoRetry{Err: err}
	}
	return nil
}

// take counts a new certificate for name, or refuses it when its
// wildcard app's limit is reached.
func (l *issueLimits) take(name string) error {
	pattern, perHour := l.wildcard(name)
	if pattern == "" {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.issued[pattern]
	for len(recent) > 0 && now.Sub(recent[0]) >= limitWindow {
		recent = recent[1:]
	}
	if len(recent) >= perHour {
		l.issued[pattern] = recent
		l.log.Warn("acme: refused a new certificate for a wildcard app's name: limit reached",
			"host", name, "wildcard", pattern, "per_hour", perHour)
		return fmt.Errorf("%q (%s, %d an hour): %w", name, pattern, perHour, ErrWildcardLimit)
	}
	l.issued[pattern] = append(recent, now)
	return nil
}
