package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/enroll"
)

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("token create", stderr)
	group := fs.String("group", "", "connector group the new connector joins (required)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token stays valid")
	if err := parseFlags(fs, args); err != nil {
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
	tok, err := enroll.CreateToken(ctx, st, ca, *group, *ttl, cfg.Tunnel.Advertise, cfg.Release.PublicKey, now)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "one-time token for group %q, valid until %s; gateway %s\n",
		*group, now.Add(*ttl).Format(time.RFC3339), strings.Join(cfg.Tunnel.Advertise, ", "))
	return nil
}
