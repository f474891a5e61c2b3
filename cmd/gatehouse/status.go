package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
)

// The documents of the admin API that 'gatehouse status' reads (see
// core/gateway/admin_api.go); only the fields it prints.
type (
	statusDoc struct {
		Version       string    `json:"version"`
		ConfigVersion uint64    `json:"config_version"`
		ConfigFile    string    `json:"config_file"`
		ConfigSHA256  string    `json:"config_sha256"`
		AppliedAt     time.Time `json:"config_applied_at"`
		Certificates  []struct {
			Host     string    `json:"host"`
			NotAfter time.Time `json:"not_after"`
		} `json:"certificates"`
		Readiness struct {
			Status   string   `json:"status"`
			Missing  []string `json:"missing"`
			Degraded []string `json:"degraded"`
		} `json:"readiness"`
		Node  string `json:"node"`
		Nodes []struct {
			ID           string    `json:"id"`
			TunnelAddr   string    `json:"tunnel_addr"`
			Version      string    `json:"version"`
			ConfigSHA256 string    `json:"config_sha256"`
			LastSeen     time.Time `json:"last_seen"`
			Draining     bool      `json:"draining"`
			Self         bool      `json:"self"`
			SameConfig   bool      `json:"same_config"`
		} `json:"nodes"`
	}
	appsDoc struct {
		Apps []struct {
			Name, Host, Group, Auth string
			SignOn                  string   `json:"sign_on"`
			Filters                 []string `json:"filters"`
			Serving                 bool     `json:"serving"`
		} `json:"apps"`
	}
	connectorsDoc struct {
		Connectors []struct {
			ID, Group, Hostname, Version, Address, State string
			Sessions                                     int   `json:"sessions"`
			InFlight                                     int64 `json:"streams_in_flight"`
		} `json:"connectors"`
		StoreError string `json:"store_error"`
	}
)

// status is "gatehouse status": what the running gateway serves now, from
// its admin API (listen.admin of the config, or --admin).
func status(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("status", stderr)
	admin := fs.String("admin", "", "the gateway's admin listener, host:port (default: listen.admin of --config)")
	asJSON := fs.Bool("json", false, "print one JSON object: {\"status\": ..., \"apps\": [...], \"connectors\": [...]}, as the admin API has them")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("status takes no arguments (got %q)", fs.Args()))
	}
	addr := *admin
	if addr == "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		if cfg.Listen.Admin == config.AdminOff {
			return fmt.Errorf("%s turns the admin listener off (listen.admin: off), and status reads it: turn it on, or pass --admin ADDR", cfg.Path)
		}
		addr = cfg.Listen.Admin
	}
	base, err := adminBase(addr)
	if err != nil {
		return usageError("--admin: " + err.Error())
	}
	docs := map[string]json.RawMessage{}
	for _, name := range []string{"status", "apps", "connectors"} {
		if docs[name], err = getAdmin(ctx, base+"/api/v1/"+name); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"status": docs["status"], "apps": pick(docs["apps"], "apps"), "connectors": pick(docs["connectors"], "connectors")})
	}
	return printStatus(stdout, docs)
}

// pick returns the member key of the JSON object doc.
func pick(doc json.RawMessage, key string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(doc, &m) != nil || m[key] == nil {
		return json.RawMessage("[]")
	}
	return m[key]
}

// adminBase is the URL of the admin listener at addr; an address that
// binds every interface is reached on loopback.
func adminBase(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// getAdmin GETs one admin API document.
func getAdmin(ctx context.Context, url string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the gateway's admin API at %s: %w (is the gateway running, with this listen.admin?)", url, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the gateway's admin API answered %s for %s: %s", resp.Status, url, strings.TrimSpace(string(body)))
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("%s did not answer JSON: is that the gateway's admin listener?", url)
	}
	return body, nil
}

func printStatus(w io.Writer, docs map[string]json.RawMessage) error {
	var st statusDoc
	var apps appsDoc
	var conns connectorsDoc
	for name, v := range map[string]any{"status": &st, "apps": &apps, "connectors": &conns} {
		if err := json.Unmarshal(docs[name], v); err != nil {
			return fmt.Errorf("the admin API's %s document: %w", name, err)
		}
	}
	now := time.Now()
	sum := short(st.ConfigSHA256)
	fmt.Fprintf(w, "gateway %s: %s\n", st.Version, st.Readiness.Status)
	for _, m := range append(st.Readiness.Missing, st.Readiness.Degraded...) {
		fmt.Fprintf(w, "  %s\n", m)
	}
	fmt.Fprintf(w, "config  %s (version %d, sha256 %s), applied %s (%s ago)\n", st.ConfigFile, st.ConfigVersion, sum,
		st.AppliedAt.UTC().Format(time.RFC3339), now.Sub(st.AppliedAt).Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nAPP\tHOST\tGROUP\tAUTH\tSIGN-ON\tFILTERS\tSERVING\n")
	for _, a := range apps.Apps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Host, a.Group, a.Auth, dash(a.SignOn), dash(strings.Join(a.Filters, ",")), yesNo(a.Serving))
	}
	fmt.Fprintf(tw, "\nCONNECTOR\tGROUP\tHOSTNAME\tVERSION\tADDRESS\tSTATE\tSESSIONS\tIN FLIGHT\n")
	for _, c := range conns.Connectors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", c.ID, c.Group, dash(c.Hostname), dash(c.Version), dash(c.Address), c.State, c.Sessions, c.InFlight)
	}
	printNodes(tw, st, now)
	fmt.Fprintf(tw, "\nCERTIFICATE\tEXPIRES\tIN\n")
	for _, c := range st.Certificates {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Host, c.NotAfter.UTC().Format(time.RFC3339), c.NotAfter.Sub(now).Round(time.Hour))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if conns.StoreError != "" {
		fmt.Fprintf(w, "\nthe gateway could not read its store, so only its attached connectors are listed: %s\n", conns.StoreError)
	}
	return nil
}

// printNodes lists the gateway nodes sharing the store, flagging any
// that serves another config file than this one.
func printNodes(w io.Writer, st statusDoc, now time.Time) {
	fmt.Fprintf(w, "\nNODE\tTUNNEL ADDRESS\tVERSION\tCONFIG\tLAST SEEN\tSTATE\n")
	for _, n := range st.Nodes {
		id, cfg, state := n.ID, short(n.ConfigSHA256), "serving"
		if n.Self {
			id += " (this node)"
		}
		if !n.SameConfig {
			cfg += " DIFFERENT CONFIG"
		}
		if n.Draining {
			state = "draining"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s ago\t%s\n", id, n.TunnelAddr, dash(n.Version), cfg, now.Sub(n.LastSeen).Round(time.Second), state)
	}
}

// short is the first 16 hex digits of a SHA-256.
func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16]
	}
	return dash(sum)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
