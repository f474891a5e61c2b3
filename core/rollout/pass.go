package rollout

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"golang.org/x/mod/semver"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/tunnel"
)

// pass is one run through a group: its connectors that need an update,
// one at a time, until none is left or one fails.
type pass struct {
	o     *Orchestrator
	g     config.ConnectorGroup
	chain []release.Endorsement
	lock  string
	// manual: started by 'gatehouse connectors update'; version is the
	// requested or pinned version ("" = the newest for each OS/arch).
	manual  bool
	version string
}

// member is one connector of the group with a ready session on this node.
type member struct {
	id, version, os, arch string
}

// logStep writes one "rollout" line; the e2e tests parse these.
func (p *pass) logStep(level slog.Level, connector, phase, version, errMsg string) {
	p.o.Logger.Log(context.Background(), level, "rollout", "group", p.g.Name, "connector", connector,
		"phase", phase, "version", version, "error", errMsg)
}

func (p *pass) run(ctx context.Context) {
	gs, err := Load(ctx, p.o.Store, p.g.Name)
	if err != nil {
		p.logStep(slog.LevelWarn, "", "error", "", err.Error())
		return
	}
	if p.manual {
		gs.Stopped, gs.Error = false, ""
	}
	tried := map[string]bool{}
	updated := 0
	for ctx.Err() == nil {
		next, target, peers, err := p.pick(ctx, gs, tried)
		if err != nil {
			p.logStep(slog.LevelWarn, "", "error", "", err.Error())
			return
		}
		if next == nil {
			if updated > 0 {
				p.logStep(slog.LevelInfo, "", "complete", gs.Version, "")
			}
			return
		}
		if peers == 0 && !p.g.Updates.AllowSingle {
			if p.manual {
				p.logStep(slog.LevelWarn, next.id, "waiting", target, "no other connector of the group is active, and updating the only one would take the group's apps down: start another connector, or set updates.allow_single")
			}
			return
		}
		tried[next.id] = true
		now := p.o.Now()
		_, _ = p.o.Store.TryLock(ctx, p.lock, p.o.Owner, now, now.Add(2*p.o.Deadline))
		if !p.update(ctx, &gs, *next, target) {
			return
		}
		updated++
	}
}

// pick returns the first connector (by id) that needs an update, its
// target version and how many other connectors of the group are active.
func (p *pass) pick(ctx context.Context, gs GroupState, tried map[string]bool) (*member, string, int, error) {
	members := p.members()
	var list []releases.Entry
	if p.version == "" {
		var err error
		if list, err = releases.List(ctx, p.o.Store); err != nil {
			return nil, "", 0, err
		}
	}
	for i, m := range members {
		if tried[m.id] || m.os == "" || m.arch == "" {
			continue // an older connector without updates says no OS
		}
		target := p.version
		if target == "" {
			target = newest(list, m.os, m.arch, p.o.GatewayVersion)
			if target == "" || !release.Newer(target, m.version) {
				continue
			}
		} else if target == m.version {
			continue
		}
		if !p.manual && gs.Stopped && gs.Version == target {
			continue // this version failed; a newer one or a request starts over
		}
		return &members[i], target, len(members) - 1, nil
	}
	return nil, "", 0, nil
}

// newest is the newest release for goos/arch that works with a gateway
// of version gw (its min_gateway); a gateway whose version is not semver
// (a development build) cannot tell, and takes the newest.
func newest(list []releases.Entry, goos, arch, gw string) string {
	for _, e := range list { // newest first
		m := e.Manifest
		if m.OS != goos || m.Arch != arch {
			continue
		}
		if m.MinGateway != "" && semver.IsValid(gw) && semver.Compare(gw, m.MinGateway) < 0 {
			continue // it needs a newer gateway than this one
		}
		return m.Version
	}
	return ""
}

// members lists the group's connectors with a ready session here, by id.
func (p *pass) members() []member {
	byID := map[string]member{}
	for _, s := range p.o.Hub.Live() {
		if s.Group != p.g.Name || !s.Ready || s.Trial {
			continue
		}
		byID[s.Connector] = member{id: s.Connector, version: s.Version, os: s.OS, arch: s.Arch}
	}
	out := make([]member, 0, len(byID))
	for _, m := range byID {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// failed phases end a connector's update, and the group's rollout.
var failed = map[string]bool{tunnel.PhaseRefused: true, tunnel.PhaseTrialFailed: true,
	tunnel.PhaseRolledBack: true, tunnel.PhaseFailed: true}

// update sends m the update to target and waits until it is back on
// target (true) or fails (false; the group's rollout stops).
func (p *pass) update(ctx context.Context, gs *GroupState, m member, target string) bool {
	rel, _, err := releases.Get(ctx, p.o.Store, target, m.os, m.arch)
	if err != nil {
		return p.fail(ctx, gs, m.id, target, "error", err.Error())
	}
	ch := make(chan tunnel.UpdateStatus, 16)
	p.o.mu.Lock()
	p.o.statuses[m.id] = ch
	p.o.mu.Unlock()
	defer func() { p.o.mu.Lock(); delete(p.o.statuses, m.id); p.o.mu.Unlock() }()
	gs.Version = target
	p.record(ctx, gs, m.id, ConnectorUpdate{State: StateUpdating, Phase: "sent", Version: target})
	err = p.o.Hub.SendUpdate(m.id, tunnel.Update{Release: rel, Chain: p.chain, TrialTimeoutMillis: p.o.TrialTimeout.Milliseconds()})
	if err != nil {
		return p.fail(ctx, gs, m.id, target, "error", "sending the update: "+err.Error())
	}
	p.logStep(slog.LevelInfo, m.id, "sent", target, "")
	deadline := time.NewTimer(p.o.Deadline)
	defer deadline.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case st := <-ch:
			if failed[st.Phase] {
				return p.fail(ctx, gs, m.id, target, st.Phase, st.Error)
			}
			p.logStep(slog.LevelInfo, m.id, st.Phase, target, "")
			p.record(ctx, gs, m.id, ConnectorUpdate{State: StateUpdating, Phase: st.Phase, Version: target})
		case <-tick.C:
			if p.back(m.id, target) {
				p.logStep(slog.LevelInfo, m.id, "done", target, "")
				p.record(ctx, gs, m.id, ConnectorUpdate{State: StateUpdated, Phase: "done", Version: target})
				return true
			}
		case <-deadline.C:
			return p.fail(ctx, gs, m.id, target, "timeout",
				fmt.Sprintf("the connector was not back on %s with a ready session within %s", target, p.o.Deadline))
		}
	}
}

// back reports whether connector id has a ready session on version.
func (p *pass) back(id, version string) bool {
	for _, s := range p.o.Hub.Live() {
		if s.Connector == id && s.Ready && !s.Trial && s.Version == version {
			return true
		}
	}
	return false
}

func (p *pass) fail(ctx context.Context, gs *GroupState, id, target, phase, msg string) bool {
	p.logStep(slog.LevelWarn, id, phase, target, msg)
	gs.Stopped, gs.Version = true, target
	gs.Error = fmt.Sprintf("connector %s: %s: %s", id, phase, msg)
	p.record(ctx, gs, id, ConnectorUpdate{State: StateFailed, Phase: phase, Version: target, Error: msg})
	p.logStep(slog.LevelWarn, id, "stopped", target, "the group's rollout stopped: "+gs.Error)
	return false
}

// record saves the group's state with connector id's update.
func (p *pass) record(ctx context.Context, gs *GroupState, id string, u ConnectorUpdate) {
	u.At = p.o.Now().UTC()
	gs.At = u.At
	if gs.Connectors == nil {
		gs.Connectors = map[string]ConnectorUpdate{}
	}
	gs.Connectors[id] = u
	if err := save(context.WithoutCancel(ctx), p.o.Store, *gs); err != nil {
		p.o.Logger.Warn("recording the rollout state", "group", p.g.Name, "error", err)
	}
}
