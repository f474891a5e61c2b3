package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/conformance"
	"github.com/gatehouse/gatehouse/plugins/builtin"
	"gopkg.in/yaml.v3"
)

// pluginCmd is "gatehouse plugin check [flags] PATH", which runs the
// conformance kit against a plug-in binary, and the hidden "gatehouse
// plugin serve NAME", which the gateway runs to host a built-in plug-in.
func pluginCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("did you mean 'gatehouse plugin check PATH'?")
	}
	switch args[0] {
	case "check":
		return pluginCheck(ctx, args[1:], stdout, stderr)
	case "serve":
		if len(args) != 2 {
			return usageError("'gatehouse plugin serve NAME' is run by the gateway itself")
		}
		return builtin.Serve(args[1])
	}
	return usageError(fmt.Sprintf("unknown plugin command %q; did you mean 'gatehouse plugin check PATH'?", args[0]))
}

func pluginCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse plugin check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gatehouse plugin check [flags] PATH\n\nRuns the conformance checks against the plug-in binary at PATH.\n\nflags:")
		fs.PrintDefaults()
	}
	kind := fs.String("kind", "", "authenticator or injector (default: ask the plug-in)")
	cfgFile := fs.String("config", "", "YAML or JSON file with a config block the plug-in accepts")
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of each well-formed call")
	// Flags may come before or after PATH.
	var paths []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		paths, args = append(paths, fs.Arg(0)), fs.Args()[1:]
	}
	if len(paths) != 1 {
		return usageError("'gatehouse plugin check' takes one plug-in binary PATH")
	}
	if *kind != "" && *kind != string(conformance.Authenticator) && *kind != string(conformance.Injector) {
		return usageError(fmt.Sprintf("--kind must be authenticator or injector, not %q", *kind))
	}
	cfg, err := readPluginConfig(*cfgFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checking %s\n", paths[0])
	results := conformance.Check(ctx, paths[0], conformance.Options{Kind: conformance.Kind(*kind), Config: cfg, CallTimeout: *timeout})
	if failed := conformance.Report(stdout, results); failed > 0 {
		return fmt.Errorf("%s: %d of %d checks failed", paths[0], failed, len(results))
	}
	return nil
}

// readPluginConfig reads a config block from a YAML (or JSON) file.
func readPluginConfig(path string) (map[string]any, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the plug-in config: %w", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg == nil && len(strings.TrimSpace(string(b))) > 0 {
		return nil, errors.New(path + ": expected a map of config keys")
	}
	return cfg, nil
}
