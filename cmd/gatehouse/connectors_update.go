package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/releases"
	"github.com/gatehouse/gatehouse/core/rollout"
	"github.com/gatehouse/gatehouse/core/store"
	"golang.org/x/mod/semver"
)

// connectorsUpdate is "gatehouse connectors update --group G [--version V]":
// it writes a rollout request to the store; the gateway node that runs
// the group's rollout picks it up and updates the group's connectors one
// at a time (the rollout lines of its log, and 'gatehouse connectors',
// show the progress).
func connectorsUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("connectors update", stderr)
	group := fs.String("group", "", "the connector group to update (required)")
	version := fs.String("version", "", "the release to update to, e.g. v1.4.0 (default: the group's pinned version, else the newest stored)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError(fmt.Sprintf("connectors update takes no arguments (got %q); name the group with --group", pos))
	case *group == "":
		return usageError("connectors update needs --group NAME (the group whose connectors to update)")
	case *version != "" && !semver.IsValid(*version):
		return usageError(fmt.Sprintf("--version %q is not a release version; write a semantic version with a leading v, e.g. v1.4.0", *version))
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cfg.ConnectorGroups, func(g config.ConnectorGroup) bool { return g.Name == *group })
	if i < 0 {
		return fmt.Errorf("no connector group %q in %s", *group, cfg.Path)
	}
	if cfg.ConnectorGroups[i].Updates.Policy == config.UpdateOff {
		return fmt.Errorf("group %q has updates.policy off in %s: set it to manual or auto first", *group, cfg.Path)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkVersionStored(ctx, st, *version); err != nil {
		return err
	}
	if err := rollout.RequestUpdate(ctx, st, *group, *version, time.Now()); err != nil {
		return err
	}
	target := *version
	if target == "" {
		target = "the newest release (or the group's pin)"
	}
	fmt.Fprintf(stdout, "requested a rollout of group %s to %s: the gateway updates its connectors one at a time, while another is active; 'gatehouse connectors' shows the progress\n", *group, target)
	return nil
}

// checkVersionStored fails when version is set and no release of it is
// stored (for any OS/arch).
func checkVersionStored(ctx context.Context, st store.Store, version string) error {
	if version == "" {
		return nil
	}
	list, err := releases.List(ctx, st)
	if err != nil {
		return err
	}
	for _, e := range list {
		if e.Manifest.Version == version {
			return nil
		}
	}
	return fmt.Errorf("no release %s in the store: add it first with 'gatehouse release add' ('gatehouse release list' shows the stored ones)", version)
}

// loadUpdates reads each listed connector's latest update from its
// group's rollout state.
func loadUpdates(ctx context.Context, st store.Store, list []store.Connector) (map[string]*rollout.ConnectorUpdate, error) {
	out := map[string]*rollout.ConnectorUpdate{}
	seen := map[string]bool{}
	for _, c := range list {
		if seen[c.Group] {
			continue
		}
		seen[c.Group] = true
		gs, err := rollout.Load(ctx, st, c.Group)
		if err != nil {
			return nil, err
		}
		for id, u := range gs.Connectors {
			out[id] = &u
		}
	}
	return out, nil
}

// updateCell is a connector's UPDATE column: "-" for none, else the
// state (and phase while updating) and the version.
func updateCell(u *rollout.ConnectorUpdate) string {
	switch {
	case u == nil:
		return "-"
	case u.State == rollout.StateUpdating && u.Phase != "":
		return u.State + " (" + u.Phase + ") " + u.Version
	default:
		return u.State + " " + u.Version
	}
}

// printUpdateErrors lists the failed updates under the table.
func printUpdateErrors(w io.Writer, list []store.Connector, updates map[string]*rollout.ConnectorUpdate) error {
	for _, c := range list {
		if u := updates[c.ID]; u != nil && u.State == rollout.StateFailed {
			if _, err := fmt.Fprintf(w, "update of %s to %s failed (%s): %s; the group's rollout stopped ('gatehouse connectors update --group %s' starts it again)\n",
				c.ID, u.Version, u.Phase, u.Error, c.Group); err != nil {
				return err
			}
		}
	}
	return nil
}
