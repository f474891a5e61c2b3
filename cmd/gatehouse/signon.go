package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/tunnelserver"
)

// printSignOns prints, under the connector table, what each connector
// last reported about its sign-on plug-ins: its catalog, the apps whose
// sign-on it runs, and every refusal with the app and the field at fault.
func printSignOns(ctx context.Context, w io.Writer, st store.Store, list []store.Connector, now time.Time) error {
	if len(list) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nSign-on plug-ins, as each connector last reported them:")
	for _, c := range list {
		s, err := tunnelserver.LoadSignOnStatus(ctx, st, c.ID)
		if err != nil {
			return err
		}
		pad := strings.Repeat(" ", len(c.ID)+2)
		switch {
		case s == nil:
			fmt.Fprintf(w, "%s  no report yet (it has not been ready since this gateway version)\n", c.ID)
			continue
		case !s.Reported:
			fmt.Fprintf(w, "%s  not reported: version %s predates sign-on reports, so it gets only apps with built-in sign-on plug-ins\n", c.ID, s.Version)
			continue
		}
		fmt.Fprintf(w, "%s  plug-ins: %s (since %s ago)\n", c.ID, pluginList(s), now.Sub(s.Since).Round(time.Second))
		if len(s.Accepted) > 0 {
			fmt.Fprintf(w, "%saccepted: %s\n", pad, strings.Join(s.Accepted, ", "))
		}
		for _, r := range s.Refused {
			fmt.Fprintf(w, "%sREFUSED app %q (plug-in %q): %s: %s\n", pad, r.App, r.Plugin, r.Field, r.Message)
		}
	}
	return nil
}

// pluginList is "header, kcd, vault (built in); tenant-sig (sha256 3f1c…)".
func pluginList(s *tunnelserver.SignOnStatus) string {
	var builtin, pinned []string
	for _, p := range s.Plugins {
		if p.Builtin {
			builtin = append(builtin, p.Name)
			continue
		}
		sum := p.SHA256
		if len(sum) > 16 {
			sum = sum[:16] + "…"
		}
		pinned = append(pinned, fmt.Sprintf("%s (sha256 %s)", p.Name, sum))
	}
	var parts []string
	if len(builtin) > 0 {
		parts = append(parts, strings.Join(builtin, ", ")+" (built in)")
	}
	parts = append(parts, pinned...)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}
