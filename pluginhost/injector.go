package pluginhost

import (
	"context"
	"fmt"

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

// Inject asks the plug-in how to change req's header for the backend. The
// result has been validated; an error wraps ErrUnavailable while the
// plug-in is down.
func (i *Injector) Inject(ctx context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	var res sdk.InjectResult
	if err := i.in.call(ctx, wire.MethodInject, req, &res); err != nil {
		return sdk.InjectResult{}, err
	}
	if err := res.Validate(); err != nil {
		return sdk.InjectResult{}, fmt.Errorf("%s: invalid Inject result: %w", i.in, err)
	}
	return res, nil
}
