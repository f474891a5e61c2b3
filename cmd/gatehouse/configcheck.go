package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/gateway"
	"github.com/gatehouse/gatehouse/core/wasm"
	"github.com/gatehouse/gatehouse/pluginhost"
	"gopkg.in/yaml.v3"
)

// configCheck loads FILE strictly, then starts every plug-in it uses with
// its config block and loads every WASM filter its apps use with the
// step's config, so a config a plug-in or a filter would refuse is caught
// here, with the file and line of the entry at fault. A sign-on plug-in
// the connectors run from their own catalogs cannot be started here: it
// says that the connectors check those configs.
func configCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: gatehouse config check FILE") }
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("config check takes exactly one FILE")
	}
	file := pos[0]
	cfg, err := config.Load(file)
	if err != nil {
		return err
	}
	err = errors.Join(gateway.Check(ctx, pluginhost.Host{}, cfg), checkFilters(ctx, cfg))
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "warning:", w.Error())
	}
	atConnectors := gateway.ConnectorSignOns(cfg)
	for _, note := range atConnectors {
		fmt.Fprintln(stdout, note)
	}
	checked, filters := 0, 0
	for _, p := range cfg.Plugins {
		if !p.Connector {
			checked++
		}
	}
	for _, a := range cfg.Apps {
		filters += len(a.Filters)
	}
	fmt.Fprintf(stdout, "%s: OK (%d apps, %d connector groups, %d plug-ins checked, %d WASM filter steps loaded", file, len(cfg.Apps), len(cfg.ConnectorGroups), checked, filters)
	if len(atConnectors) > 0 {
		fmt.Fprintf(stdout, "; %d sign_on configs left to the connectors", len(atConnectors))
	}
	fmt.Fprintln(stdout, ")")
	return nil
}

// checkFilters loads the module of every filter step of every app with
// the step's config, as the gateway does (one instance started, so the
// guest reads its config), then closes it. Each error names the step as
// "FILE:LINE: apps[i].filters[j] (filter NAME)".
func checkFilters(ctx context.Context, cfg *config.Config) error {
	steps := 0
	for _, a := range cfg.Apps {
		steps += len(a.Filters)
	}
	if steps == 0 {
		return nil
	}
	rt, err := wasm.NewRuntime(ctx, wasm.Options{})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	catalog := map[string]config.Filter{}
	for _, f := range cfg.Filters {
		catalog[f.Name] = f
	}
	lines := filterLines(cfg.Path)
	var errs []error
	for i, a := range cfg.Apps {
		for j, u := range a.Filters {
			at := fmt.Sprintf("%s:%d: apps[%d].filters[%d] (filter %q)", cfg.Path, lines[[2]int{i, j}], i, j, u.Filter)
			conf := []byte("{}")
			if u.Config.Value != nil {
				if conf, err = json.Marshal(u.Config.Value); err != nil {
					errs = append(errs, fmt.Errorf("%s: config: %w", at, err))
					continue
				}
			}
			f := catalog[u.Filter]
			lf, err := rt.Load(ctx, wasm.Spec{Name: u.Filter, App: a.Name, Path: f.Path, SHA256: f.SHA256,
				Config: conf, FreshPerRequest: u.FreshPerRequest})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at, err))
				continue
			}
			if err := lf.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s: closing: %w", at, err))
			}
		}
	}
	return errors.Join(errs...)
}

// filterLines maps (app index, step index) to the line of the step in the
// config file; a line it cannot find is 0.
func filterLines(path string) map[[2]int]int {
	out := map[[2]int]int{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	apps := member(doc.Content[0], "apps")
	if apps == nil || apps.Kind != yaml.SequenceNode {
		return out
	}
	for i, app := range apps.Content {
		filters := member(app, "filters")
		if filters == nil || filters.Kind != yaml.SequenceNode {
			continue
		}
		for j, step := range filters.Content {
			out[[2]int{i, j}] = step.Line
		}
	}
	return out
}

// member returns the value of key in mapping n (following an alias), or nil.
func member(n *yaml.Node, key string) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].Value == key {
			v := n.Content[k+1]
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}
