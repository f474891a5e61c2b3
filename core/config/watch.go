package config

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"time"
)

// Watcher reloads a config file on SIGHUP and when its content changes.
type Watcher struct {
	// Interval is how often the file is read and hashed to detect changes.
	// Default 1s.
	Interval time.Duration

	path   string
	logger *slog.Logger
}

// NewWatcher returns a Watcher for the config file at path that logs to
// logger (slog.Default() when nil).
func NewWatcher(path string, logger *slog.Logger) *Watcher {
	if logger == nil {
		logger = slog.Default()
	}
	return &Watcher{Interval: time.Second, path: path, logger: logger}
}

// Run blocks until ctx is done, reloading the config when a value arrives
// on sighup (always) or when the file's content changes (never twice for
// the same content).
//
// The file is read and hashed every Interval, by path, so editors that save
// by renaming a new file over the old one are followed. A change is loaded
// once the content has been the same for two reads in a row, so a file
// caught half-written is not loaded; content identical to the config last
// applied is not reloaded. A missing or unreadable file is logged once and
// the watch goes on.
//
// The content at the time Run starts is taken as the running config: call
// Run right after the initial Load.
//
// A reload parses the file; if that fails, the error is logged and apply is
// not called. Otherwise apply receives the new config; its error, if any,
// is logged the same way.
func (w *Watcher) Run(ctx context.Context, sighup <-chan os.Signal, apply func(*Config) error) {
	interval := w.Interval
	if interval <= 0 {
		interval = time.Second
	}
	var (
		seen    sum    // content last loaded (or rejected) or present at start
		applied sum    // content of the config last applied, or present at start
		pending sum    // changed content waiting to be read once more
		readErr string // the last read error logged, so it is logged once
	)
	if data, err := os.ReadFile(w.path); err == nil {
		seen = newSum(data)
		applied = seen
	}
	w.logger.Info("watching config file", "file", w.path, "interval", interval)

	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		onSignal := false
		select {
		case <-ctx.Done():
			return
		case _, ok := <-sighup:
			if !ok {
				sighup = nil // closed: stop listening, keep polling
				continue
			}
			onSignal = true
		case <-ticker.C:
		}
		data, err := os.ReadFile(w.path)
		if err != nil {
			if onSignal || err.Error() != readErr {
				w.logger.Error(reloadFailedMsg, "file", w.path, "error", err)
			}
			readErr, pending = err.Error(), sum{}
			continue
		}
		readErr = ""
		s := newSum(data)
		if onSignal {
			pending, seen = sum{}, s
			if w.reload(data, "sighup", apply) {
				applied = s
			}
			continue
		}
		switch {
		case s == seen:
			pending = sum{}
		case s != pending:
			pending = s // wait one more interval for the write to settle
		default:
			pending, seen = sum{}, s
			if s != applied && w.reload(data, "file change", apply) {
				applied = s
			}
		}
	}
}

// sum is a SHA-256 of file content; the zero sum stands for "none".
type sum struct {
	ok   bool
	hash [sha256.Size]byte
}

func newSum(data []byte) sum { return sum{true, sha256.Sum256(data)} }

const reloadFailedMsg = "config reload failed; the running config keeps serving"

// reload parses data and hands the result to apply, logging the outcome.
// It reports whether apply succeeded.
func (w *Watcher) reload(data []byte, trigger string, apply func(*Config) error) bool {
	cfg, err := Parse(w.path, data)
	if err != nil {
		w.logger.Error(reloadFailedMsg, "file", w.path, "trigger", trigger, "error", err)
		return false
	}
	if err := apply(cfg); err != nil {
		w.logger.Error(reloadFailedMsg, "file", w.path, "trigger", trigger, "error", err)
		return false
	}
	w.logger.Info("config reloaded", "file", w.path, "trigger", trigger,
		"connector_groups", len(cfg.ConnectorGroups), "apps", len(cfg.Apps))
	return true
}
