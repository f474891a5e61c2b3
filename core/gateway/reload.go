package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/internal/fingerprint"
)

// Apply swaps in a new config. Listener addresses and the TLS mode need a
// restart; everything else takes effect for the next request, and
// connectors get their new app config at once.
func (g *Gateway) Apply(cfg *config.Config) error {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	if g.closed {
		return errors.New("the gateway is closed; the config was not applied")
	}
	if !fingerprint.Same(restartOnly(cfg), restartOnly(g.snap.Load().cfg)) {
		return errors.New("listen, tls.mode, tls.acme, store, data_dir, fast_paths and cluster changes need a restart; the running config keeps serving")
	}
	old := g.snap.Load()
	s, err := g.buildSnapshot(context.Background(), cfg, old)
	if err != nil {
		return err
	}
	g.reg.SetSignOns(s.needs) // first: no request routed by s may reach a connector that has not accepted it
	g.snap.Store(s)
	staleAuths, staleChains := old.auths.unused(s.auths), old.chains.unused(s.chains)
	g.retire(authGrace, func(context.Context) { staleAuths.closeAll() })
	g.retire(0, func(ctx context.Context) { _ = staleChains.closeAll(ctx) })
	g.reg.SetInactiveAfter(cfg.Tunnel.InactiveAfter.D())
	g.hub.PushConfig()
	g.cluster.members.SetConfig(cfg.SHA256, s.built) // the node list shows which config each node serves
	g.log.Info("config applied", "config_version", s.version, "apps", len(cfg.Apps))
	return nil
}

// authGrace is how long a replaced Authenticator keeps serving calls that
// started before a reload.
const authGrace = 30 * time.Second

// restartOnly is the part of cfg a reload cannot change: the listeners,
// the TLS mode, the ACME CA and account (the CA roots by content, not by
// file name), the store, the data directory and the node's id.
func restartOnly(cfg *config.Config) []any {
	a := cfg.TLS.ACME
	return []any{cfg.Listen, cfg.TLS.Mode, a.Directory, a.Email, a.CARootsPEM, a.Challenges, cfg.Store, cfg.DataDir, cfg.FastPaths, cfg.Cluster}
}
