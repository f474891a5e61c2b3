package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// signInResults are the results the sign-in log records.
var signInResults = []string{"signed_in", "denied", "challenged", "failed"}

// signInScan is how many of the newest records a filtered query reads
// (the store lists the newest first; the filters apply here).
const signInScan = 100_000

// signInFilter selects sign-in log records; empty fields select all.
type signInFilter struct {
	user, app, result string
	since             time.Time
}

func (f signInFilter) empty() bool {
	return f.user == "" && f.app == "" && f.result == "" && f.since.IsZero()
}

// readSignIns returns up to limit records f selects, newest first.
func readSignIns(ctx context.Context, st store.Store, f signInFilter, limit int) ([]store.SignIn, error) {
	if f.empty() {
		return st.ListSignIns(ctx, limit)
	}
	all, err := st.ListSignIns(ctx, signInScan)
	if err != nil {
		return nil, err
	}
	out := []store.SignIn{}
	for _, s := range all {
		if len(out) == limit || (!f.since.IsZero() && s.At.Before(f.since)) {
			break // newest first: every later record is older still
		}
		if (f.user == "" || s.Subject == f.user) && (f.app == "" || s.App == f.app) && (f.result == "" || s.Result == f.result) {
			out = append(out, s)
		}
	}
	return out, nil
}

// jsonSignIn is one record of 'gatehouse signins --json'.
type jsonSignIn struct {
	At       time.Time `json:"at"`
	App      string    `json:"app"`
	IdP      string    `json:"idp"`
	User     string    `json:"user"`
	Result   string    `json:"result"`
	Reason   string    `json:"reason"`
	ClientIP string    `json:"client_ip"`
	Device   string    `json:"device,omitempty"`
}

// signIns is "gatehouse signins": the latest records of the sign-in log,
// filtered by user, app, age and result.
func signIns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("signins", stderr)
	limit := fs.Int("limit", 50, "how many records, newest first")
	user := fs.String("user", "", "only this user's (subject, as the log shows it)")
	app := fs.String("app", "", "only this app's")
	since := fs.Duration("since", 0, "only records from the last DURATION (e.g. 24h)")
	result := fs.String("result", "", "only this result: signed_in, denied, challenged or failed")
	asJSON := fs.Bool("json", false, "print one JSON object: {\"signins\": [...]}")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError(fmt.Sprintf("signins takes no arguments (got %q)", fs.Args()))
	case *limit < 1:
		return usageError("--limit must be at least 1")
	case *since < 0:
		return usageError("--since must be a positive duration, e.g. 24h")
	case *result != "" && !slices.Contains(signInResults, *result):
		return usageError(fmt.Sprintf("--result %q: use one of %v", *result, signInResults))
	}
	_, st, err := loadStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	f := signInFilter{user: *user, app: *app, result: *result}
	if *since > 0 {
		f.since = time.Now().Add(-*since)
	}
	list, err := readSignIns(ctx, st, f, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]jsonSignIn, 0, len(list))
		for _, s := range list {
			out = append(out, jsonSignIn{At: s.At.UTC(), App: s.App, IdP: s.Plugin, User: s.Subject, Result: s.Result, Reason: s.Reason, ClientIP: s.ClientIP, Device: s.Device})
		}
		return writeJSON(stdout, map[string]any{"signins": out})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tAPP\tIDP\tUSER\tRESULT\tCLIENT\tREASON")
	for _, s := range list {
		reason := s.Reason
		if s.Device != "" {
			reason += " [device " + s.Device + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.At.UTC().Format(time.RFC3339), s.App, s.Plugin, s.Subject, s.Result, s.ClientIP, reason)
	}
	return tw.Flush()
}
