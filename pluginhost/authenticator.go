package pluginhost

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/wire"
)

// Authenticator is an Authenticator plug-in serving one app.
type Authenticator struct{ in *instance }

// Authenticator returns an instance of e for u. It starts nothing: call Open.
func (h Host) Authenticator(e Entry, u Use) *Authenticator {
	return &Authenticator{in: newInstance(h, e, u, wire.Authenticator)}
}

// Open starts the plug-in and has it check its config. The error of a
// refused config is a *ConfigError.
func (a *Authenticator) Open(ctx context.Context) error { return a.in.open(ctx) }

// Close stops the plug-in. It is safe after a failed Open and more than once.
func (a *Authenticator) Close() error { return a.in.close() }

// PID is the plug-in's process id, 0 while it is down.
func (a *Authenticator) PID() int { return a.in.pid() }

// Authenticate asks the plug-in who the caller of req is. The result has
// been validated; an error wraps ErrUnavailable while the plug-in is down.
func (a *Authenticator) Authenticate(ctx context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	var res sdk.AuthResult
	if err := a.in.call(ctx, wire.MethodAuthenticate, req, &res); err != nil {
		return sdk.AuthResult{}, err
	}
	if err := res.Validate(); err != nil {
		return sdk.AuthResult{}, fmt.Errorf("%s: invalid Authenticate result: %w", a.in, err)
	}
	return res, nil
}

// SignOut asks the plug-in where to send a user who signed out, so that
// the identity provider's session ends too. A plug-in that did not
// declare sdk.CapabilitySignOut is not asked: the answer is empty (no
// provider sign-out). The result has been validated.
func (a *Authenticator) SignOut(ctx context.Context, req sdk.SignOutRequest) (sdk.SignOutResult, error) {
	if !a.in.declared(sdk.CapabilitySignOut) {
		return sdk.SignOutResult{}, nil
	}
	var res sdk.SignOutResult
	if err := a.in.call(ctx, wire.MethodSignOut, req, &res); err != nil {
		return sdk.SignOutResult{}, err
	}
	if err := res.Validate(); err != nil {
		return sdk.SignOutResult{}, fmt.Errorf("%s: invalid SignOut result: %w", a.in, err)
	}
	return res, nil
}
