package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"

	"github.com/gatehouse/gatehouse/sdk/wire"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CapabilitySignOut lets an Authenticator end the user's session at the
// identity provider when the user signs out of the app (OpenID Connect
// RP-initiated logout, SAML single logout). Only a plug-in that declared
// it is asked: its Authenticator must implement [SignOuter]. A plug-in
// that did not declare it, as every plug-in built before it existed,
// keeps working: the gateway then signs the user out of the app alone.
//
// It is for Authenticators only.
const CapabilitySignOut Capability = "signout"

// A SignOuter is an Authenticator that can end the user's session at its
// identity provider. The gateway has already ended the app's session
// (cookie cleared, session revoked) when it asks; the answer only says
// where to send the browser next.
type SignOuter interface {
	SignOut(ctx context.Context, req SignOutRequest) (SignOutResult, error)
}

// SignOutRequest is a user's sign-out from an app.
type SignOutRequest struct {
	// Identity is who signed out, as the Authenticator established it at
	// sign-in (a SAML plug-in finds its NameID and SessionIndex in it).
	// Empty when the browser had no valid session any more.
	Identity Identity `json:"identity,omitzero"`
	// ReturnURL is the absolute URL the identity provider sends the
	// browser back to once it has signed the user out
	// (https://host/.gatehouse/auth/APP/signedout): give it as the
	// post_logout_redirect_uri (OpenID Connect) or the SP's
	// SingleLogoutService location (SAML).
	ReturnURL string `json:"return_url"`
	// State is an opaque value to hand to the identity provider so that
	// it comes back to ReturnURL with it (OpenID Connect "state", SAML
	// "RelayState"). The gateway sealed it; it tells the "Signed out"
	// page that the provider was asked.
	State string `json:"state"`
}

// SignOutResult is a SignOuter's answer.
type SignOutResult struct {
	// Location is the identity provider's sign-out URL to send the
	// browser to (303); empty: nothing to end there, the gateway shows
	// its "Signed out" page at once.
	Location string `json:"location,omitempty"`
	// Reason is a short explanation for the logs, never a secret.
	Reason string `json:"reason,omitempty"`
}

// Validate reports what is wrong with r, if anything: a Location must be
// an absolute http or https URL.
func (r SignOutResult) Validate() error {
	if r.Location == "" {
		return nil
	}
	if err := checkHeaderValue(r.Location); err != nil {
		return fmt.Errorf("sign-out Location: %w", err)
	}
	u, err := url.Parse(r.Location)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("sign-out Location must be an absolute http or https URL")
	}
	return nil
}

// checkSignOuter reports an Authenticator that declared CapabilitySignOut
// without implementing SignOuter (impl nil: a config check built nothing).
func checkSignOuter(caps []Capability, impl any) error {
	if impl == nil || !slices.Contains(caps, CapabilitySignOut) {
		return nil
	}
	if _, ok := impl.(SignOuter); !ok {
		return fmt.Errorf("the plug-in declared capability %q, and its Authenticator (%T) has no SignOut method (sdk.SignOuter)", CapabilitySignOut, impl)
	}
	return nil
}

// signOutMethod serves MethodSignOut: only for a plug-in that declared
// CapabilitySignOut; any other answers Unimplemented, as a plug-in built
// before the method existed does.
func signOutMethod(in *instance[Authenticator], log *slog.Logger) func(context.Context, SignOutRequest) (SignOutResult, error) {
	declared := slices.Contains(in.caps, CapabilitySignOut)
	return func(ctx context.Context, req SignOutRequest) (SignOutResult, error) {
		if !declared {
			return SignOutResult{}, status.Errorf(codes.Unimplemented, "the plug-in did not declare capability %q", CapabilitySignOut)
		}
		a, err := in.get()
		if err != nil {
			return SignOutResult{}, err
		}
		so, ok := a.(SignOuter)
		if !ok { // checked at Configure: cannot happen
			return SignOutResult{}, status.Error(codes.Unimplemented, "the Authenticator has no SignOut method")
		}
		res, err := guard(log, wire.MethodSignOut, func() (SignOutResult, error) { return so.SignOut(ctx, req) })
		if err != nil {
			return SignOutResult{}, toStatus(err)
		}
		if err := res.Validate(); err != nil {
			return SignOutResult{}, status.Errorf(codes.Internal, "SignOut returned an invalid result: %v", err)
		}
		return res, nil
	}
}
