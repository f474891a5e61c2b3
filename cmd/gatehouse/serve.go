package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/gateway"
	"github.com/gatehouse/gatehouse/internal/accesslog"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/linebuf"
	"github.com/gatehouse/gatehouse/internal/profile"
	"github.com/gatehouse/gatehouse/pluginhost"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs, cfgPath := newFlags("serve", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	fast, err := fastpath.FromEnv(os.Getenv) // the stricter of it and fast_paths wins
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stderr)
	// Access lines go to the same stderr in batches: one write per batch,
	// not per request (internal/linebuf).
	accessOut := linebuf.New(stderr, accessFlushEvery)
	defer accessOut.Close()
	access := slog.New(accesslog.NewHandler(accessOut, cfg.Log.Format, logOptions(cfg.Log)))
	for _, w := range cfg.Warnings {
		logger.Warn("config: "+w.Msg, "file", w.File, "line", w.Line, "key", w.Key)
	}
	// The admin listener first: /readyz says what is missing while the
	// store opens and the state loads.
	admin, err := gateway.ListenAdmin(cfg, version, logger)
	if err != nil {
		return err
	}
	defer admin.Close()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	defer admin.Close() // again, so that its store probe stops before the store closes

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile, err := profile.Start()
	if err != nil {
		return err
	}
	defer stopProfile()
	gw, err := gateway.New(ctx, cfg, gateway.Options{Store: st, Logger: logger, AccessLog: access, Version: version,
		Plugins: pluginhost.Host{Logger: logger}, FastPaths: fast, Admin: admin})
	if err != nil {
		return err
	}
	defer gw.Close() // Serve closes it too; this covers a failed Listen
	if err := gw.Listen(); err != nil {
		return err
	}
	if f := gw.DevCAFile(); f != "" {
		logger.Warn("tls.mode is self-signed: for development only; clients must trust the development CA", "ca_file", f)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go config.NewWatcher(cfg.Path, logger).Run(ctx, hup, gw.Apply)
	return gw.Serve(ctx)
}

// accessFlushEvery is how late an access line may reach the log.
const accessFlushEvery = 100 * time.Millisecond

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := logOptions(c)
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logOptions is log.level for slog's handlers (and the access log's,
// internal/accesslog, which writes its lines without a slog.Record).
func logOptions(c config.Log) *slog.HandlerOptions {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	return &slog.HandlerOptions{Level: level}
}
