package gateway

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/core/tunnelserver"
)

func (g *Gateway) sweepLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(g.snap.Load().sweepEvery()):
			g.Sweep(ctx)
		}
	}
}

// Sweep marks silent connectors inactive and removes connectors inactive
// for longer than tunnel.remove_after (their certificates are refused from
// then on). Tests call it after moving an injected clock.
func (g *Gateway) Sweep(ctx context.Context) {
	for _, id := range g.reg.Sweep() {
		g.log.Warn("connector inactive: no heartbeat", "connector", id)
	}
	cfg := g.snap.Load().cfg
	cutoff := g.opts.Clock.Now().Add(-cfg.Tunnel.RemoveAfter.D())
	removed, err := g.opts.Store.RemoveConnectorsSeenBefore(ctx, cutoff)
	if err != nil {
		g.log.Error("removing stale connectors", "error", err)
	}
	for _, id := range removed {
		g.log.Warn("connector removed: inactive too long", "connector", id, "remove_after", cfg.Tunnel.RemoveAfter.D().String())
		g.reg.Evict(id)
		if _, err := g.opts.Store.DeleteBlobs(ctx, tunnelserver.SignOnKey(id)); err != nil {
			g.log.Error("deleting a removed connector's sign-on report", "connector", id, "error", err)
		}
	}
	// Expired tokens stay a week, so that using one says "expired" rather
	// than "not recognised".
	now := g.opts.Clock.Now()
	if _, err := g.opts.Store.DeleteExpiredTokens(ctx, now.Add(-tokenGrace)); err != nil {
		g.log.Error("deleting expired tokens", "error", err)
	}
	// Locks (single-use sign-in states) are kept an hour past expiry, so
	// clock skew between gateway nodes cannot free one early.
	if _, err := g.opts.Store.DeleteExpiredLocks(ctx, now.Add(-time.Hour)); err != nil {
		g.log.Error("deleting expired locks", "error", err)
	}
	// Sign-outs matter until the session would have expired (plus skew).
	if _, err := g.opts.Store.DeleteExpiredSessionRevocations(ctx, now.Add(-time.Hour)); err != nil {
		g.log.Error("deleting expired sign-outs", "error", err)
	}
	if _, err := g.opts.Store.DeleteChangesBefore(ctx, now.Add(-changeKeep)); err != nil {
		g.log.Error("trimming the change feed", "error", err)
	}
	if n, err := g.opts.Store.DeleteSignInsBefore(ctx, now.Add(-signInKeep)); err != nil {
		g.log.Error("trimming the sign-in log", "error", err)
	} else if n > 0 {
		g.log.Info("sign-in log trimmed", "deleted", n, "older_than", now.Add(-signInKeep).Format(time.RFC3339))
	}
}

// tokenGrace is how long an expired token is kept.
const tokenGrace = 7 * 24 * time.Hour

// signInKeep is how long the sign-in log keeps a record.
const signInKeep = 90 * 24 * time.Hour
