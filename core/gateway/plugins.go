package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/plugin"
)

// authenticators are the running Authenticator plug-ins of one snapshot,
// by app name. Each remembers what it was started with, so a reload that
// does not change an app's plug-in keeps the running process.
type authenticators map[string]*authenticator

type authenticator struct {
	*plugin.Authenticator
	key string // entry and config, as JSON: equal keys, same instance
}

// openAuthenticators starts the Authenticator of every app with sign-in,
// reusing prev's instances that have not changed. On error it closes what
// it started, and returns one error per failing app.
func openAuthenticators(ctx context.Context, host plugin.Host, cfg *config.Config, prev authenticators) (authenticators, error) {
	catalog := map[string]config.Plugin{}
	for _, p := range cfg.Plugins {
		catalog[p.Name] = p
	}
	out := authenticators{}
	var errs []error
	for i, a := range cfg.Apps {
		if a.Auth.Passthrough {
			continue
		}
		p := catalog[a.Auth.Plugin]
		entry := plugin.Entry{Name: p.Name, Builtin: p.Builtin, Path: p.Path, SHA256: p.SHA256}
		key, err := json.Marshal([]any{entry, a.Auth.Config.Value})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d:%d: apps[%d].auth.config: cannot be sent to the plug-in: %w", cfg.Path, a.Auth.Config.Line, a.Auth.Config.Column, i, err))
			continue
		}
		if old := prev[a.Name]; old != nil && old.key == string(key) {
			out[a.Name] = old
			continue
		}
		inst := host.Authenticator(entry, plugin.Use{App: a.Name, Config: a.Auth.Config.Value})
		if err := inst.Open(ctx); err != nil {
			var ce *plugin.ConfigError
			if errors.As(err, &ce) {
				err = fmt.Errorf("%s:%d:%d: apps[%d].auth.config: plug-in %q refused its config: %s", cfg.Path, a.Auth.Config.Line, a.Auth.Config.Column, i, ce.Plugin, ce.Problem)
			} else {
				err = fmt.Errorf("%s: apps[%d].auth.plugin: starting %q for app %q: %w", cfg.Path, i, p.Name, a.Name, err)
			}
			errs = append(errs, err)
			continue
		}
		out[a.Name] = &authenticator{Authenticator: inst, key: string(key)}
	}
	if len(errs) > 0 {
		out.closeUnused(prev, 0)
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// closeUnused closes the instances of a that keep does not use, after
// grace (so that calls in flight on a replaced snapshot can finish).
func (a authenticators) closeUnused(keep authenticators, grace time.Duration) {
	var stale []*authenticator
	for name, inst := range a {
		if keep[name] != inst {
			stale = append(stale, inst)
		}
	}
	if len(stale) == 0 {
		return
	}
	time.AfterFunc(grace, func() {
		for _, inst := range stale {
			_ = inst.Close()
		}
	})
}
