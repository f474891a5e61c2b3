package pluginhost

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/internal/backoff"
	"github.com/gatehouse/gatehouse/internal/clock"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/wire"
)

// Host holds what every plug-in instance shares. The zero value works; it
// is configured once in cmd/ and not changed afterwards.
type Host struct {
	// Logger receives the plug-ins' log lines and the supervisor's; nil
	// discards them.
	Logger *slog.Logger
	// Executable is the gateway binary that serves built-in plug-ins;
	// "" means this process's own executable.
	Executable string
	// CallTimeout is the deadline of a call whose context has none
	// (default 10 s); StartTimeout bounds a start, handshake included
	// (default 10 s).
	CallTimeout, StartTimeout time.Duration
	// A call still running after ProbeAfter (default 1 s), or one that ran
	// out of time, has the plug-in's health checked with deadline
	// ProbeTimeout (default 1 s). A process that does not answer (stopped,
	// frozen) is killed and restarted like a crashed one; a plug-in that is
	// only slow answers and is left alone. These timers run on real time,
	// not on Clock.
	ProbeAfter, ProbeTimeout time.Duration
	// Backoff spaces restarts of a crashed or unresponsive plug-in.
	Backoff Backoff
	// Clock is the time source of the supervisor; nil means the system's.
	Clock Clock
	// ProtocolVersion is the version this host offers; 0 means
	// wire.ProtocolVersion. Only the conformance kit sets it, to see that a
	// plug-in is refused by a host of another version.
	ProtocolVersion int
	// Observer is told about calls and restarts (metrics); nil: none.
	Observer Observer
}

// Backoff is the delay before restart n: Initial doubled n times, at most
// Max. A plug-in that stays up for Max starts again at Initial after its
// next crash. Defaults: 100 ms, 30 s.
type Backoff struct {
	Initial, Max time.Duration
}

// Clock is the supervisor's time source, the one the connector and the
// gateway's registry use too.
type Clock = clock.Waiter

// A Use is one app's use of a plug-in.
type Use struct {
	App string
	// Config is the app's config block for the plug-in (a decoded YAML or
	// JSON map), sent to the plug-in as JSON.
	Config map[string]any
	// Keys are the signing keys handed to the plug-in, newest first.
	Keys []sdk.SigningKey
	// CheckOnly is passed on in ConfigureRequest.CheckOnly.
	CheckOnly bool
}

// withDefaults fills in the zero fields.
func (h Host) withDefaults() Host {
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	if h.CallTimeout <= 0 {
		h.CallTimeout = 10 * time.Second
	}
	if h.StartTimeout <= 0 {
		h.StartTimeout = 10 * time.Second
	}
	if h.ProbeAfter <= 0 {
		h.ProbeAfter = time.Second
	}
	if h.ProbeTimeout <= 0 {
		h.ProbeTimeout = time.Second
	}
	if h.Backoff.Initial <= 0 {
		h.Backoff.Initial = 100 * time.Millisecond
	}
	if h.Backoff.Max < h.Backoff.Initial {
		h.Backoff.Max = max(30*time.Second, h.Backoff.Initial)
	}
	h.Clock = clock.Or(h.Clock)
	if h.ProtocolVersion == 0 {
		h.ProtocolVersion = wire.ProtocolVersion
	}
	return h
}

// delay is the backoff before restart attempt n (0-based), without
// jitter: one process restarts alone, with no herd to spread.
func (b Backoff) delay(n int) time.Duration {
	return backoff.Policy{Min: b.Initial, Max: b.Max}.Delay(n, nil)
}

// withDeadline gives ctx the host's call timeout unless it has a deadline.
func (h Host) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, h.CallTimeout)
}

// childEnv is the environment of a plug-in process: a few variables a
// program needs, never the gateway's whole environment, which may hold
// secrets (database URLs, tokens) that a third-party binary has no
// business reading.
func childEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR", "GORACE", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
