package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/core/rollout"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/tunnelserver"
)

// jsonConnector is one connector of 'gatehouse connectors --json'.
type jsonConnector struct {
	ID         string                     `json:"id"`
	Group      string                     `json:"group"`
	Hostname   string                     `json:"hostname"`
	Version    string                     `json:"version"`
	Address    string                     `json:"address"`
	Status     string                     `json:"status"` // active or inactive (by its last heartbeat)
	LastSeen   time.Time                  `json:"last_seen"`
	EnrolledAt time.Time                  `json:"enrolled_at"`
	CertSerial string                     `json:"cert_serial"`
	SignOn     *tunnelserver.SignOnStatus `json:"sign_on"` // null before its first report
	// Update is its latest update by a rollout (null: none).
	Update *rollout.ConnectorUpdate `json:"update"`
}

func connectors(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("connectors", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object: {\"connectors\": [...]}")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError(fmt.Sprintf("connectors takes no arguments (got %q); did you mean 'gatehouse connectors remove ID'?", pos))
	}
	cfg, st, err := loadStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.ListConnectors(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	statusOf := func(c store.Connector) string {
		if now.Sub(c.LastSeen) > cfg.Tunnel.InactiveAfter.D() {
			return "inactive"
		}
		return "active"
	}
	updates, err := loadUpdates(ctx, st, list)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]jsonConnector, 0, len(list))
		for _, c := range list {
			s, err := tunnelserver.LoadSignOnStatus(ctx, st, c.ID)
			if err != nil {
				return err
			}
			out = append(out, jsonConnector{ID: c.ID, Group: c.Group, Hostname: c.Hostname, Version: c.Version,
				Address: c.Addr, Status: statusOf(c), LastSeen: c.LastSeen.UTC(), EnrolledAt: c.CreatedAt.UTC(),
				CertSerial: c.CertSerial, SignOn: s, Update: updates[c.ID]})
		}
		return writeJSON(stdout, map[string]any{"connectors": out})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tGROUP\tHOSTNAME\tVERSION\tUPDATE\tADDRESS\tSTATUS\tLAST SEEN")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s ago\n", c.ID, c.Group, c.Hostname, c.Version, updateCell(updates[c.ID]),
			c.Addr, statusOf(c), now.Sub(c.LastSeen).Round(time.Second))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printSignOns(ctx, stdout, st, list, now); err != nil {
		return err
	}
	return printUpdateErrors(stdout, list, updates)
}

// connectorsRemove is "gatehouse connectors remove ID": the connector is
// deleted from the store. Every gateway node sharing the store then
// refuses its certificate (the tunnel handshake looks the connector up)
// and, within tunnelserver.RemovalCheck, drains and closes its live
// tunnels, logging the removal at WARN.
func connectorsRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("connectors remove", stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("connectors remove takes one connector ID ('gatehouse connectors' lists them)")
	}
	id := pos[0]
	_, st, err := loadStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.GetConnector(ctx, id)
	if err == nil {
		err = st.RemoveConnector(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no connector %q in the store (already removed, or never enrolled): 'gatehouse connectors' lists them", id)
	}
	if err != nil {
		return err
	}
	if _, err := st.DeleteBlobs(ctx, tunnelserver.SignOnKey(id)); err != nil {
		fmt.Fprintf(stderr, "warning: connector %s removed, but its sign-on report was not deleted: %v\n", id, err)
	}
	fmt.Fprintf(stdout, "removed connector %s (group %q, host %q, certificate serial %s)\n", id, c.Group, c.Hostname, c.CertSerial)
	fmt.Fprintf(stdout, "every gateway node refuses its certificate from now on, and closes its tunnels within %s (requests in flight get up to %s to finish); to bring that machine back, enroll it again with a new token\n",
		tunnelserver.RemovalCheck, tunnelserver.RetireGrace)
	return nil
}
