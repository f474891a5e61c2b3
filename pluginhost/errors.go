package pluginhost

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrUnavailable: the plug-in's process is down or cannot be reached.
	// The instance restarts it; the caller should fail closed (503).
	ErrUnavailable = errors.New("plug-in unavailable")
	// ErrClosed: the instance was closed.
	ErrClosed = errors.New("plug-in instance closed")
	// ErrChecksum: the binary's SHA-256 is not the one the catalog pins.
	ErrChecksum = errors.New("plug-in binary checksum mismatch")
	// ErrIncompatible: the plug-in speaks another protocol version.
	ErrIncompatible = errors.New("plug-in protocol version not supported")
	// ErrPanicked: the plug-in's code panicked while handling the call.
	ErrPanicked = errors.New("plug-in panicked")
	// ErrWrongKind: the plug-in does not implement the kind asked for (an
	// Injector used as an Authenticator, say).
	ErrWrongKind = errors.New("plug-in does not implement this kind")
)

// A ConfigError is a config block that a plug-in refused at load time.
type ConfigError struct {
	App, Plugin string
	// Problem is the plug-in's message; it names the key when one is wrong.
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("app %q: plug-in %q: config: %s", e.App, e.Plugin, strings.ReplaceAll(e.Problem, "\n", "; "))
}
