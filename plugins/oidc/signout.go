package oidc

import (
	"context"
	"net/url"

	"github.com/gatehouse/gatehouse/sdk"
)

// SignOut answers a user's sign-out from the app with the provider's
// end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0): the
// browser goes there with client_id, post_logout_redirect_uri (the
// gateway's "Signed out" page, which must be registered for the client)
// and state. No id_token_hint: the plug-in keeps no tokens, and client_id
// is what the specification asks for instead; the provider may then ask
// the user to confirm. A provider without the endpoint, or end_session
// false, leaves the provider's session alone.
func (a *authenticator) SignOut(ctx context.Context, req sdk.SignOutRequest) (sdk.SignOutResult, error) {
	if a.cfg.EndSession != nil && !*a.cfg.EndSession {
		return sdk.SignOutResult{Reason: "end_session is false"}, nil
	}
	p, err := a.disc.get(ctx)
	if err != nil {
		return sdk.SignOutResult{}, err
	}
	if p.endSession == "" {
		return sdk.SignOutResult{Reason: "the provider publishes no end_session_endpoint"}, nil
	}
	u, err := url.Parse(p.endSession)
	if err != nil { // checked at discovery
		return sdk.SignOutResult{}, err
	}
	q := u.Query()
	q.Set("client_id", a.cfg.ClientID)
	if req.ReturnURL != "" {
		q.Set("post_logout_redirect_uri", req.ReturnURL)
		if req.State != "" {
			q.Set("state", req.State)
		}
	}
	u.RawQuery = q.Encode()
	return sdk.SignOutResult{Location: u.String(), Reason: "sent to the OpenID provider's end_session_endpoint"}, nil
}

// endSessionURL is the provider's end_session_endpoint if it is usable:
// an absolute URL of the issuer's scheme (https, or http for a loopback
// issuer), without a fragment. Anything else is ignored: sign-out then
// ends the app's session only.
func endSessionURL(issuer, endpoint string) string {
	if endpoint == "" {
		return ""
	}
	iss, err1 := url.Parse(issuer)
	u, err2 := url.Parse(endpoint)
	if err1 != nil || err2 != nil || u.Host == "" || u.Fragment != "" || u.User != nil ||
		(u.Scheme != "https" && (u.Scheme != "http" || iss.Scheme != "http" || !loopback(u.Hostname()))) {
		return ""
	}
	return endpoint
}
