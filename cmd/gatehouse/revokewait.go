package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store"
)

// revokeWait is how long a revoking command waits for the running
// gateway to apply its revocation.
var revokeWait = 5 * time.Second

// revokePoll is how often it asks the gateway meanwhile.
const revokePoll = 50 * time.Millisecond

// errNoGateway is an admin API that does not answer at all: no gateway
// running with this listen.admin.
var errNoGateway = errors.New("no gateway answers")

// awaitRevocation is what a command that wrote a revocation does next:
// the gateway answers revocations from memory, following the store's
// change feed, so the command waits until the running gateway (the
// config's listen.admin, as 'gatehouse status' reads it) reports in
// /api/v1/status that it applied the change the revocation recorded
// (changes.applied_seq). Once it returns nil with a gateway running, that
// gateway refuses the revoked sessions. A gateway that serves another
// config (config_sha256: another gateway on a taken default address) is
// not asked further. No gateway answering is not an
// error: the revocation is in the store, and a gateway loads it at start
// or follows it within a second. A gateway that does not apply it within
// wait is (exit code 1).
func awaitRevocation(ctx context.Context, cfg *config.Config, st store.Store, stdout io.Writer, wait time.Duration) error {
	seq, err := st.LastChange(ctx) // at or after the change just recorded
	if err != nil {
		return fmt.Errorf("the revocation is recorded in the store, but reading the store's change feed failed, so whether the running gateway applied it is unknown: %w (check the store; run 'gatehouse status', or repeat the command)", err)
	}
	inStore := "the revocation is in the store: a running gateway applies it within a second, and a gateway that starts loads it"
	if cfg.Listen.Admin == config.AdminOff {
		fmt.Fprintf(stdout, "%s (listen.admin is off in %s, so this cannot ask the gateway)\n", inStore, cfg.Path)
		return nil
	}
	base, err := adminBase(cfg.Listen.Admin)
	if err != nil {
		return fmt.Errorf("%s: listen.admin: %w", cfg.Path, err)
	}
	url := base + "/api/v1/status"
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	applied, answered := int64(-1), false
	for {
		n, sum, err := appliedSeq(ctx, url)
		switch {
		case err == nil && sum != cfg.SHA256:
			fmt.Fprintf(stdout, "%s (the gateway answering at %s serves another config than %s, or this file changed since it loaded it)\n", inStore, base, cfg.Path)
			return nil
		case err == nil:
			applied, answered = n, true
			if applied >= seq {
				fmt.Fprintf(stdout, "the running gateway (%s) applied the revocation (change %d): it refuses the sessions now\n", base, seq)
				return nil
			}
		case errors.Is(err, errNoGateway) && !answered:
			fmt.Fprintf(stdout, "%s (no gateway answers at %s, listen.admin of %s)\n", inStore, base, cfg.Path)
			return nil
		}
		select {
		case <-ctx.Done():
			if !answered {
				return fmt.Errorf("the revocation is in the store, but whether the gateway at %s applied it is unknown after %s: %v; check it with 'gatehouse status': it refuses the sessions once it follows the store's change feed", url, wait, err)
			}
			return fmt.Errorf("the revocation is in the store (change %d), but the running gateway (%s) has applied the change feed only up to %d after %s: its change feed may be failing (see 'gatehouse status' and the gateway's log); it refuses the sessions once it catches up", seq, base, applied, wait)
		case <-time.After(revokePoll):
		}
	}
}

// appliedSeq asks the admin API at url (/api/v1/status) for
// changes.applied_seq and the hash of the config it serves; errNoGateway
// when nothing listens there.
func appliedSeq(ctx context.Context, url string) (int64, string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if op := (*net.OpError)(nil); errors.As(err, &op) && op.Op == "dial" {
			return 0, "", fmt.Errorf("%w: %v", errNoGateway, err)
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("the admin API answered %s", resp.Status) // 503: the gateway is starting
	}
	var doc struct {
		ConfigSHA256 string `json:"config_sha256"`
		Changes      *struct {
			AppliedSeq int64 `json:"applied_seq"`
		} `json:"changes"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&doc); err != nil {
		return 0, "", fmt.Errorf("%s did not answer JSON (is that the gateway's admin listener?): %w", url, err)
	}
	if doc.Changes == nil {
		return 0, "", fmt.Errorf("%s has no changes.applied_seq: a gateway older than this command? upgrade it, or run the same version", url)
	}
	return doc.Changes.AppliedSeq, doc.ConfigSHA256, nil
}
