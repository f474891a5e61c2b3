package sdk

import (
	"context"
	"net/http"
)

// An Authenticator answers, for a request to an app that has no session
// yet, who the caller is. It runs at the gateway, once per app that uses it.
//
// A caller that cannot be signed in is a result (a [Challenge]), not an
// error. An error means something is broken (the identity provider cannot
// be reached, say); the gateway then fails closed.
type Authenticator interface {
	Authenticate(ctx context.Context, req AuthRequest) (AuthResult, error)
}

// AuthRequest is the request the gateway asks an Authenticator about.
type AuthRequest struct {
	// Method is the HTTP method.
	Method string `json:"method"`
	// URL is the absolute URL the client asked for (https://host/path?query).
	URL string `json:"url"`
	// Header is the request's header, without the gateway's session cookie.
	Header http.Header `json:"header,omitempty"`
	// RemoteAddr is the client's IP address.
	RemoteAddr string `json:"remote_addr,omitempty"`
	// CallbackURL is the absolute URL of this app's sign-in callback
	// (https://host/.gatehouse/auth/APP/callback); give it to the identity provider
	// as the redirect URI. The gateway sends requests to it to the
	// Authenticator too.
	CallbackURL string `json:"callback_url,omitempty"`
	// SignedOutURL is the absolute URL of this app's "Signed out" page
	// (https://host/.gatehouse/auth/APP/signedout), where an identity
	// provider sends the browser back after its own sign-out: a SAML
	// plug-in publishes it as its SingleLogoutService (see [SignOuter]).
	SignedOutURL string `json:"signed_out_url,omitempty"`
	// State is what an earlier [Redirect] result asked the gateway to keep,
	// given back on the request that returns to the callback URL; nil
	// otherwise. The gateway keeps it sealed in a short-lived cookie, so the
	// client can neither read nor change it.
	State []byte `json:"state,omitempty"`
	// Body is the request body on the callback URL (a form POST), at most
	// 64 KiB; nil on other requests.
	Body []byte `json:"body,omitempty"`
}
