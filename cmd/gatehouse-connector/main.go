// Command gatehouse-connector is the on-premises Gatehouse connector. It
// dials out to the gateway and never listens on any port.
//
//	gatehouse-connector --state DIR [--token TOKEN] [--gateway HOST:PORT,...] [--drain-timeout 30s]
//	                    [--config FILE] [--sessions 2] [--log-level info] [--log-format text]
//	                    [--release-key gatehouse-release-ed25519:...] [--trial]
//	gatehouse-connector --version
//	gatehouse-connector vault-key --out FILE
//
// It runs its built-in sign-on plug-ins (header, kcd, vault) as child processes of its
// own binary ("gatehouse-connector plugin serve NAME"). --config FILE adds
// the sign-on plug-ins its operator chose, each an executable pinned by
// path and sha256, under the names the gateway's apps use in sign_on.plugin:
//
//	plugins:
//	  - name: tenant-sig
//	    path: /usr/local/lib/gatehouse/tenant-sig   # relative: to FILE's directory
//	    sha256: 3f1c…                                # sha256sum of the binary
//
// A mistake in FILE stops the connector with file, line and key. A binary
// whose sha256 differs is never started: the apps that use it are refused,
// and the gateway shows why ('gatehouse connectors') and sends their
// requests to the connectors that accepted them.
//
// The first run enrolls with a one-time token (from 'gatehouse token
// create') and keeps in DIR its key, its certificate, the pinned gateway CA
// and connector.json (its id, group and gateway addresses, and the gateway's
// public identity key), nothing else; every later run uses only DIR.
// A gateway that runs as several nodes lists them to its connectors, which
// keep --sessions tunnels to every node and save the list in
// connector.json: a restart dials those nodes, with no --gateway flag. The
// addresses of the token (or --gateway) stay the fallback when no listed
// node answers. --gateway, when given, is where this run starts instead
// of the saved list, and becomes that fallback.
//
// SIGTERM or SIGINT drains it: it asks every gateway to send it no new
// requests, finishes those in flight, and exits 0. Past --drain-timeout
// it cuts the ones left and exits 1; a second signal stops it at once.
//
// Signed updates (connector/update): the gateway may send a release; the
// connector verifies it with the release key it trusts (the token's, or
// --release-key, saved in connector.json), refuses a downgrade, downloads
// it over its tunnel into DIR/releases/<version>/, runs it once with
// --trial (the gateway probes it; it exits 0 on trial_passed), then makes
// it DIR/releases/current, drains and re-execs into it. Every start first
// execs DIR/releases/current when it verifies and is newer than this
// binary; a release that twice fails to reach a ready session is rolled
// back to DIR/releases/previous (or this binary).
//
// GATEHOUSE_FAST_PATHS=off in its environment turns off the connector's
// fast paths (internal/fastpath), so that it runs on plain http.Transport
// and net.Conn.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/connector"
	"github.com/gatehouse/gatehouse/internal/accesslog"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/linebuf"
	"github.com/gatehouse/gatehouse/internal/profile"
	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/plugins/builtin"
	"github.com/gatehouse/gatehouse/sdk/vault"
)

var version = "dev"

func main() {
	if err := run(); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse-connector:", err)
		}
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		// The connector runs its built-in sign-on plug-ins as children of
		// its own binary.
		return builtin.Serve(os.Args[3])
	}
	if len(os.Args) > 1 && os.Args[1] == "vault-key" {
		return vaultKey(os.Args[2:])
	}
	fs := flag.NewFlagSet("gatehouse-connector", flag.ContinueOnError)
	stateDir := fs.String("state", "", "directory for the connector's key, certificate and pinned gateway CA (required)")
	token := fs.String("token", os.Getenv("GATEHOUSE_TOKEN"), "one-time enrollment token, for the first run (or $GATEHOUSE_TOKEN)")
	gateways := fs.String("gateway", "", "comma-separated gateway tunnel addresses to start from, overriding the token's and the node list saved in --state (optional: without it the connector dials the gateway nodes it last learned)")
	sessions := fs.Int("sessions", 2, "tunnels per gateway address")
	drainTimeout := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM or SIGINT, how long to finish the requests in flight before stopping")
	configFile := fs.String("config", "", "the connector's own config: its catalog of sign-on plug-ins (plugins: with name, path, sha256)")
	level := fs.String("log-level", "info", "debug, info, warn or error (access lines are info)")
	format := fs.String("log-format", "text", "text or json")
	showVersion := fs.Bool("version", false, "print the version and exit")
	trial := fs.Bool("trial", false, "run as the trial of a new release (the connector's updater starts it so): answer the gateway's probe, then exit 0")
	releaseKey := fs.String("release-key", "", "the release public key (gatehouse-release-ed25519:...) to trust for signed updates, saved in --state; default: the enrollment token's")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println("gatehouse-connector", version)
		return nil
	}
	if *stateDir == "" {
		return errors.New("--state DIR is required")
	}
	logger, access, flush, err := newLoggers(*level, *format)
	if err != nil {
		return err
	}
	defer flush()
	if !*trial {
		launch(*stateDir, *releaseKey, logger, flush) // update.go: execs a newer installed release
	}
	fast, err := fastpath.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	var addrs []string
	if *gateways != "" {
		addrs = strings.Split(*gateways, ",")
	}

	if *drainTimeout <= 0 {
		return fmt.Errorf("--drain-timeout %s: want a positive duration such as 30s", *drainTimeout)
	}
	catalog, err := loadCatalog(*configFile)
	if err != nil {
		return err
	}
	ctx, serving, stop := onSignals(logger)
	defer stop()
	stopProfile, err := profile.Start()
	if err != nil {
		return err
	}
	defer stopProfile()
	st, err := loadOrEnroll(ctx, *stateDir, *token, *releaseKey, addrs, logger)
	if err != nil {
		return err
	}
	logger.Info("connector starting", "connector", st.ConnectorID, "trial", *trial, "fast_paths", fast.String())
	up, updater := newUpdater(st, *stateDir, *trial, logger)
	c := connector.New(st, connector.Options{Sessions: *sessions, Logger: logger, AccessLog: access, Version: version,
		Plugins: pluginhost.Host{Logger: logger}, Catalog: catalog, FastPaths: fast, DrainTimeout: *drainTimeout,
		Updater: updater, Trial: *trial})
	if up != nil {
		up.Drain = c.Drain // an update drains the connector, then restart execs the new release
	}
	serving(c)
	err = c.Run(ctx)
	return restart(up, err, flush) // update.go
}

// loadOrEnroll loads the connector's state, or enrolls with token when
// there is none yet; then it sets where the connector starts (startFrom)
// and saves --release-key when given.
func loadOrEnroll(ctx context.Context, dir, token, releaseKey string, addrs []string, logger *slog.Logger) (*connector.State, error) {
	st, err := connector.LoadState(dir)
	switch {
	case err == nil && token != "":
		logger.Warn("already enrolled; ignoring the token (delete the state directory to enroll again)",
			"connector", st.ConnectorID, "state", dir)
	case errors.Is(err, connector.ErrNotEnrolled) && token != "":
		if st, err = connector.Enroll(ctx, token, dir, addrs, version); err != nil {
			return nil, err
		}
		logger.Info("enrolled", "connector", st.ConnectorID, "group", st.Group, "state", dir)
	case err != nil:
		return nil, err
	}
	if err := startFrom(st, addrs, dir); err != nil {
		return nil, err
	}
	if releaseKey != "" {
		if err := st.SetReleaseKey(releaseKey); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// startFrom sets where the connector starts: the --gateway addresses
// when given (they also become its fallback), else the gateway nodes it
// saved (connector.json).
func startFrom(st *connector.State, addrs []string, dir string) error {
	if len(addrs) > 0 {
		st.Gateways, st.Bootstrap = addrs, addrs
	}
	if len(st.Gateways) == 0 {
		return fmt.Errorf("%s/connector.json lists no gateway address: give --gateway HOST:PORT", dir)
	}
	return nil
}

// newLoggers returns the connector's log and its access log, both on
// stderr, the access lines in batches (internal/linebuf) and without a
// slog.Record (internal/accesslog), and the func
// that flushes them.
func newLoggers(level, format string) (logger, access *slog.Logger, flush func(), err error) {
	if logger, err = newLogger(level, format, os.Stderr); err != nil {
		return nil, nil, nil, err
	}
	out := linebuf.New(os.Stderr, 100*time.Millisecond)
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level)) // newLogger checked it
	access = slog.New(accesslog.NewHandler(out, format, &slog.HandlerOptions{Level: lv}))
	return logger, access, func() { _ = out.Close() }, nil
}

// newLogger is a log on w: --log-level and --log-format (text or
// json), as the gateway's log: config.
func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not a log format (use text or json)", format)
}

// loadCatalog reads the --config file's catalog of sign-on plug-ins;
// without one, the connector has its built-in plug-ins only.
func loadCatalog(path string) (*connector.Catalog, error) {
	if path == "" {
		return connector.NewCatalog(), nil
	}
	cfg, err := connector.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return cfg.Catalog, nil
}

// onSignals handles SIGTERM and SIGINT. The first drains the connector
// once serving has named it (before that, it cancels ctx: enrollment
// stops); a second one cancels ctx, which stops at once. stop releases
// the signals.
func onSignals(logger *slog.Logger) (ctx context.Context, serving func(*connector.Connector), stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	var cur atomic.Pointer[connector.Connector]
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			c := cur.Load()
			if c == nil {
				cancel(nil)
				return
			}
			logger.Info("signal received: draining (a second signal stops at once)", "signal", s.String())
			c.Drain()
		case <-done:
			return
		}
		select {
		case s := <-sig:
			logger.Warn("second signal: stopping at once, cutting the requests in flight", "signal", s.String())
			cancel(errors.New("stopped by a second signal before the drain finished"))
		case <-done:
		}
	}()
	return ctx, cur.Store, func() { signal.Stop(sig); close(done); cancel(nil) }
}

// vaultKey is "gatehouse-connector vault-key --out FILE": a key pair for
// the password vault. The private key goes to FILE (give a copy to every
// connector of the group, and name it in the vault plug-in's key_file);
// the public key is printed for the gateway's config (vault.public_key).
func vaultKey(args []string) error {
	fs := flag.NewFlagSet("gatehouse-connector vault-key", flag.ContinueOnError)
	out := fs.String("out", "", "file for the private key (created, mode 0600; never overwritten)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("vault-key needs --out FILE")
	}
	priv, pub, err := vault.NewKey()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the vault key: %w", err)
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		return fmt.Errorf("writing the vault key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the vault key: %w", err)
	}
	fmt.Printf("vault private key written to %s (copy it to every connector of the group)\npublic key for the gateway config (apps[].vault.public_key):\n%s\n", *out, pub)
	return nil
}
