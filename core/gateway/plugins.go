package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/internal/fingerprint"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

// authenticators are the running Authenticator plug-ins of one snapshot,
// by app name. Each remembers what it was started with, so a reload that
// does not change an app's plug-in keeps the running process.
type authenticators map[string]*authenticator

type authenticator struct {
	*pluginhost.Authenticator
	sum fingerprint.Sum // of entry and config: equal sums, same instance
}

// openAuthenticators starts the Authenticator of every app with sign-in,
// reusing prev's instances that have not changed. On error it closes what
// it started, and returns one error per failing app.
func openAuthenticators(ctx context.Context, host pluginhost.Host, cfg *config.Config, prev authenticators) (authenticators, error) {
	catalog := map[string]config.Plugin{}
	for _, p := range cfg.Plugins {
		catalog[p.Name] = p
	}
	out := authenticators{}
	var errs []error
	for i, a := range withPortal(cfg) { // the console and the portal sign in like apps
		if a.Auth.Passthrough {
			continue
		}
		key := fmt.Sprintf("apps[%d]", i)
		if a.Name == config.ConsoleApp {
			key = "admin.console"
		}
		if a.Name == config.PortalApp {
			key = "portal"
		}
		p := catalog[a.Auth.Plugin]
		entry := pluginhost.Entry{Name: p.Name, Builtin: p.Builtin, Path: p.Path, SHA256: p.SHA256}
		sum, err := fingerprint.Of(entry, a.Auth.Config.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d:%d: %s.auth.config: cannot be sent to the plug-in: %w", cfg.Path, a.Auth.Config.Line, a.Auth.Config.Column, key, err))
			continue
		}
		if old := prev[a.Name]; old != nil && old.sum == sum {
			out[a.Name] = old
			continue
		}
		inst := host.Authenticator(entry, pluginhost.Use{App: a.Name, Config: a.Auth.Config.Value})
		if err := inst.Open(ctx); err != nil {
			var ce *pluginhost.ConfigError
			if errors.As(err, &ce) {
				err = fmt.Errorf("%s:%d:%d: %s.auth.config: plug-in %q refused its config: %s", cfg.Path, a.Auth.Config.Line, a.Auth.Config.Column, key, ce.Plugin, ce.Problem)
			} else {
				err = fmt.Errorf("%s: %s.auth.plugin: starting %q for app %q: %w", cfg.Path, key, p.Name, a.Name, err)
			}
			errs = append(errs, err)
			continue
		}
		out[a.Name] = &authenticator{Authenticator: inst, sum: sum}
	}
	if len(errs) > 0 {
		out.unused(prev).closeAll()
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// unused returns the instances of a that keep does not use.
func (a authenticators) unused(keep authenticators) authenticators {
	out := authenticators{}
	for name, inst := range a {
		if keep[name] != inst {
			out[name] = inst
		}
	}
	return out
}

// closeAll closes every instance of a now, waiting for each to stop.
func (a authenticators) closeAll() {
	for _, inst := range a {
		_ = inst.Close()
	}
}

// checkSignOns has every changed sign_on config of a built-in plug-in
// checked by its plug-in before connectors get it: the gateway serves the
// same built-in plug-ins, so a mistake is a config error with file and
// line here, not a failed request at the connector. A plug-in the
// connectors run from their own catalogs (connector: true) is checked by
// each connector, which reports a refusal instead. checked holds the
// configs already accepted (app → fingerprint); it returns the new set.
func checkSignOns(ctx context.Context, host pluginhost.Host, cfg *config.Config, key sdk.SigningKey, checked map[string]fingerprint.Sum) (map[string]fingerprint.Sum, error) {
	out := map[string]fingerprint.Sum{}
	var errs []error
	for i, a := range cfg.Apps {
		if a.SignOn.Plugin == "" || connectorPlugin(cfg, a.SignOn.Plugin) {
			continue
		}
		k, err := fingerprint.Of(a.SignOn.Plugin, a.SignOn.Config.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d:%d: apps[%d].sign_on.config: %w", cfg.Path, a.SignOn.Config.Line, a.SignOn.Config.Column, i, err))
			continue
		}
		if checked[a.Name] == k {
			out[a.Name] = k
			continue
		}
		inj := host.Injector(pluginhost.Entry{Name: a.SignOn.Plugin, Builtin: true},
			pluginhost.Use{App: a.Name, Config: a.SignOn.Config.Value, Keys: []sdk.SigningKey{key}, CheckOnly: true})
		err = inj.Open(ctx)
		_ = inj.Close()
		var ce *pluginhost.ConfigError
		switch {
		case errors.As(err, &ce):
			errs = append(errs, fmt.Errorf("%s:%d:%d: apps[%d].sign_on.config: plug-in %q refused its config: %s", cfg.Path, a.SignOn.Config.Line, a.SignOn.Config.Column, i, ce.Plugin, ce.Problem))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: apps[%d].sign_on.plugin: starting %q for app %q: %w", cfg.Path, i, a.SignOn.Plugin, a.Name, err))
		default:
			out[a.Name] = k
		}
	}
	return out, errors.Join(errs...)
}

// Check is what "gatehouse config check" adds to the file's own checks:
// it compiles the access rules, and starts every plug-in cfg uses with
// its config and stops it again.
func Check(ctx context.Context, host pluginhost.Host, cfg *config.Config) error {
	var errs []error
	for i, a := range cfg.Apps {
		if _, err := policy.Compile(a.Access); err != nil {
			errs = append(errs, fmt.Errorf("%s: apps[%d].%w", cfg.Path, i, err))
		}
	}
	if cfg.Admin.Console.On() {
		if _, err := policy.Compile(cfg.Admin.Console.Access); err != nil {
			errs = append(errs, fmt.Errorf("%s: admin.console.%w", cfg.Path, err))
		}
	}
	return errors.Join(append(errs, checkPlugins(ctx, host, cfg))...)
}

func checkPlugins(ctx context.Context, host pluginhost.Host, cfg *config.Config) error {
	auths, authErr := openAuthenticators(ctx, host, cfg, nil)
	for _, a := range auths {
		_ = a.Close()
	}
	key, err := sdk.NewSigningKey()
	if err != nil {
		return err
	}
	_, signOnErr := checkSignOns(ctx, host, cfg, key, nil)
	return errors.Join(authErr, signOnErr)
}
