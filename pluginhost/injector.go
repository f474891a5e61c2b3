package pluginhost

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/wire"
)

// Injector is an Injector plug-in serving one app.
type Injector struct{ in *instance }

// Injector returns an instance of e for u. It starts nothing: call Open.
func (h Host) Injector(e Entry, u Use) *Injector {
	return &Injector{in: newInstance(h, e, u, wire.Injector)}
}

// Open starts the plug-in and has it check its config. The error of a
// refused config is a *ConfigError.
func (i *Injector) Open(ctx context.Context) error { return i.in.open(ctx) }

// Close stops the plug-in. It is safe after a failed Open and more than once.
func (i *Injector) Close() error { return i.in.close() }

// PID is the plug-in's process id, 0 while it is down.
func (i *Injector) PID() int { return i.in.pid() }

// Capabilities are the optional parts of the protocol the plug-in
// declared (sdk.Plugin.Capabilities); nil while it is down.
func (i *Injector) Capabilities() []sdk.Capability {
	return slices.Clone(i.in.capabilities())
}

// Inject asks the plug-in how to change req's header for the backend. The
// result has been validated; an error wraps ErrUnavailable while the
// plug-in is down.
//
// req.Secret goes only to a plug-in that declared
// sdk.CapabilityCredentials; for any other it is dropped. A result with
// AskCredentials or RejectStatus from a plug-in that did not declare it is
// an error that wraps ErrUndeclared.
//
// req.Spares is clamped to 0..sdk.MaxSpares. A result with more Spares
// than that asked for, or with spares but no SparesFor, keeps its Set but
// loses all its spares, with a warning in the log: a plug-in that
// miscounts is not trusted with the rest.
func (i *Injector) Inject(ctx context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	credentials := i.in.declared(sdk.CapabilityCredentials)
	if !credentials {
		req.Secret = nil
	}
	req.Spares = min(max(req.Spares, 0), sdk.MaxSpares)
	var res sdk.InjectResult
	if err := i.in.call(ctx, wire.MethodInject, req, &res); err != nil {
		return sdk.InjectResult{}, err
	}
	if err := res.Validate(); err != nil {
		return sdk.InjectResult{}, fmt.Errorf("%s: invalid Inject result: %w", i.in, err)
	}
	if !credentials && (res.AskCredentials || res.RejectStatus != 0) {
		return sdk.InjectResult{}, fmt.Errorf("%s: invalid Inject result: %w: AskCredentials or RejectStatus needs capability %q, which the plug-in did not declare in sdk.Plugin.Capabilities",
			i.in, ErrUndeclared, sdk.CapabilityCredentials)
	}
	if n := len(res.Spares); n > req.Spares || n > 0 && res.SparesFor <= 0 {
		i.in.log.Warn("plug-in returned spare results it was not asked for, or without SparesFor; the spares are ignored",
			"spares", n, "asked", req.Spares, "spares_for", res.SparesFor.String())
		res.Spares, res.SparesFor = nil, 0
	}
	return res, nil
}
