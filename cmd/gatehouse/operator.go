package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/enroll"
	"github.com/gatehouse/gatehouse/core/gateway"
	"github.com/gatehouse/gatehouse/pluginhost"
)

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("token create", stderr)
	group := fs.String("group", "", "connector group the new connector joins (required)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token stays valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	var groups []string
	for _, g := range cfg.ConnectorGroups {
		groups = append(groups, g.Name)
	}
	if *group == "" {
		return usageError("--group is required (groups in " + cfg.Path + ": " + strings.Join(groups, ", ") + ")")
	}
	if !slices.Contains(groups, *group) {
		return fmt.Errorf("connector group %q is not in %s (groups: %s)", *group, cfg.Path, strings.Join(groups, ", "))
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ca, err := enroll.LoadOrCreateCA(ctx, st, time.Now())
	if err != nil {
		return err
	}
	now := time.Now()
	tok, err := enroll.CreateToken(ctx, st, ca, *group, *ttl, cfg.Tunnel.Advertise, now)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "one-time token for group %q, valid until %s; gateway %s\n",
		*group, now.Add(*ttl).Format(time.RFC3339), strings.Join(cfg.Tunnel.Advertise, ", "))
	return nil
}

func connectors(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("connectors", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.ListConnectors(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tGROUP\tHOSTNAME\tVERSION\tADDRESS\tSTATUS\tLAST SEEN")
	for _, c := range list {
		status := "active"
		if now.Sub(c.LastSeen) > cfg.Tunnel.InactiveAfter.D() {
			status = "inactive"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s ago\n", c.ID, c.Group, c.Hostname, c.Version, c.Addr,
			status, now.Sub(c.LastSeen).Round(time.Second))
	}
	return tw.Flush()
}

// configCheck loads FILE strictly, then starts every plug-in it uses with
// its config block, so a config a plug-in would refuse is caught here.
func configCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return usageError("config check takes exactly one FILE")
	}
	cfg, err := config.Load(args[0])
	if err != nil {
		return err
	}
	if err := gateway.Check(ctx, pluginhost.Host{}, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: OK (%d apps, %d connector groups, %d plug-ins checked)\n", args[0], len(cfg.Apps), len(cfg.ConnectorGroups), len(cfg.Plugins))
	return nil
}
