package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
)

// Sessions are sealed cookies: the gateway keeps no session table. What
// 'sessions list' shows is read from the sign-in log: each sign-in
// younger than sessions.lifetime, unless 'sessions revoke' ended it.

func sessionsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) > 0 && args[0] == "list":
		return sessionsList(ctx, args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "revoke":
		return sessionsRevoke(ctx, args[1:], stdout, stderr)
	}
	return usageError("did you mean 'gatehouse sessions list' or 'gatehouse sessions revoke --user SUBJECT'?")
}

// jsonSession is one session of 'gatehouse sessions list --json'.
type jsonSession struct {
	User       string    `json:"user"`
	App        string    `json:"app"`
	IdP        string    `json:"idp"`
	SignedInAt time.Time `json:"signed_in_at"`
	ExpiresBy  time.Time `json:"expires_by"` // at the latest: an IdP can shorten it
	ClientIP   string    `json:"client_ip"`
}

// liveSessions are the sign-ins of the log that f selects whose session
// may still be live at now: younger than lifetime and not revoked.
func liveSessions(ctx context.Context, st store.Store, f signInFilter, lifetime time.Duration, now time.Time) ([]jsonSession, error) {
	f.result, f.since = "signed_in", now.Add(-lifetime)
	list, err := readSignIns(ctx, st, f, signInScan)
	if err != nil {
		return nil, err
	}
	revoked := map[string]time.Time{}
	out := []jsonSession{}
	for _, s := range list {
		before, ok := revoked[s.Subject]
		if !ok {
			if before, err = st.RevokedBefore(ctx, s.Subject); err != nil {
				return nil, err
			}
			revoked[s.Subject] = before
		}
		if s.At.Before(before) {
			continue
		}
		out = append(out, jsonSession{User: s.Subject, App: s.App, IdP: s.Plugin, SignedInAt: s.At.UTC(),
			ExpiresBy: s.At.Add(lifetime).UTC(), ClientIP: s.ClientIP})
	}
	return out, nil
}

// sessionsList is "gatehouse sessions list [--user S] [--app A]".
func sessionsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("sessions list", stderr)
	user := fs.String("user", "", "only this user's sessions (subject)")
	app := fs.String("app", "", "only this app's sessions")
	asJSON := fs.Bool("json", false, "print one JSON object: {\"sessions\": [...]}")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("sessions list takes no arguments (got %q)", fs.Args()))
	}
	cfg, st, err := openConfigStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := liveSessions(ctx, st, signInFilter{user: *user, app: *app}, cfg.Sessions.Lifetime.D(), time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"sessions": list})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tAPP\tIDP\tSIGNED IN\tEXPIRES BY\tCLIENT")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.User, s.App, s.IdP, s.SignedInAt.Format(time.RFC3339), s.ExpiresBy.Format(time.RFC3339), s.ClientIP)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d sessions that may still be live: sign-ins of the last %s (sessions.lifetime) not ended by 'sessions revoke'; a user who signed out or closed the browser may be listed\n",
		len(list), cfg.Sessions.Lifetime.D())
	return nil
}

// sessionsRevoke is "gatehouse sessions revoke --user SUBJECT": every
// session of the user that exists now ends at its next request. The
// revocation is recorded even when the sign-in log shows no live session
// (the log keeps one record of identical sign-ins a minute, and a record
// can fail to be written): it costs nothing, and it fails closed. It then
// waits until the running gateway applied it (awaitRevocation), so that
// once it returns that gateway refuses the sessions.
func sessionsRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("sessions revoke", stderr)
	user := fs.String("user", "", "the user's subject, as the sign-in log shows it (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *user == "" || fs.NArg() > 0 {
		return usageError("sessions revoke needs --user SUBJECT (and no other arguments)")
	}
	cfg, st, err := openConfigStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	live, err := liveSessions(ctx, st, signInFilter{user: *user}, cfg.Sessions.Lifetime.D(), now)
	if err != nil {
		return err
	}
	if err := st.RevokeSessions(ctx, *user, now); err != nil {
		return err
	}
	if len(live) == 0 {
		fmt.Fprintf(stdout, "%q has no session that may still be live (no sign-in in the last %s, or all revoked already); recorded the revocation anyway, for any session the sign-in log missed\n",
			*user, cfg.Sessions.Lifetime.D())
	} else {
		fmt.Fprintf(stdout, "revoked every session of %q started before %s (%d in the sign-in log): the user signs in again at the next request\n",
			*user, now.UTC().Format(time.RFC3339), len(live))
	}
	return awaitRevocation(ctx, cfg, st, stdout, revokeWait) // revokewait.go
}

// openConfigStore loads the config at path and opens its store.
func openConfigStore(ctx context.Context, path string) (*config.Config, store.Store, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}
