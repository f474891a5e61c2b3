package main

import (
	"log/slog"
	"os"

	"github.com/gatehouse/gatehouse/connector"
	"github.com/gatehouse/gatehouse/connector/update"
)

// launch is the launcher (update.Launch), first in every run but a trial:
// when the state directory holds a verified release newer than this
// binary, it execs it and never returns. The trusted key is --release-key
// or the one saved at enrollment. Anything wrong is logged, and this
// binary runs.
func launch(stateDir, releaseKey string, logger *slog.Logger, flush func()) {
	if releaseKey == "" {
		if st, err := connector.LoadState(stateDir); err == nil {
			releaseKey = st.ReleaseKey
		}
	}
	path, v, ok := update.Launch(stateDir, version, releaseKey, logger)
	if !ok {
		return
	}
	logger.Info("starting the installed release", "release", v, "path", path, "installed_version", version)
	flush()
	err := update.Exec(nil, path, v, os.Args[1:])
	logger.Error("connector update: running the installed binary instead", "error", err)
}

// newUpdater is the updater of a connector that takes updates (not a
// trial run), also as the connector's Options.Updater (nil for a trial).
func newUpdater(st *connector.State, stateDir string, trial bool, logger *slog.Logger) (*update.Updater, connector.Updater) {
	if trial {
		return nil, nil
	}
	up := &update.Updater{StateDir: stateDir, Version: version, TrustedKey: st.ReleaseKey, Args: os.Args[1:], Log: logger}
	return up, up
}

// restart follows Run: after an update drained the connector, it execs
// the new release (update.Updater.Restart); otherwise it returns Run's
// error.
func restart(up *update.Updater, runErr error, flush func()) error {
	if up == nil || !up.Pending() {
		return runErr
	}
	if runErr != nil {
		up.Log.Warn("connector update: the drain ended with an error; restarting into the new release anyway", "error", runErr)
	}
	flush()
	return up.Restart()
}
