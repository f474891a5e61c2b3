package saml

import (
	"context"
	"fmt"
	"net/url"

	crewjam "github.com/crewjam/saml"

	"github.com/gatehouse/gatehouse/sdk"
)

// singleLogout makes the gateway's "Signed out" page (signedOut, from
// the request) sp's SingleLogoutService, where the IdP sends its
// LogoutResponse with the HTTP-Redirect binding; nothing when
// single_logout is false or the gateway gave no address.
func (a *authenticator) singleLogout(sp *crewjam.ServiceProvider, signedOut string) bool {
	if a.cfg.SingleLogout != nil && !*a.cfg.SingleLogout || signedOut == "" {
		return false
	}
	u, err := url.Parse(signedOut)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return false
	}
	sp.SloURL = *u
	sp.LogoutBindings = []string{crewjam.HTTPRedirectBinding}
	return true
}

// SignOut answers a user's sign-out from the app with SAML single logout
// (SP-initiated, HTTP-Redirect binding): a LogoutRequest signed like the
// AuthnRequests, naming the user by the NameID (and its format) and the
// SessionIndex of the assertion they signed in with, addressed to the
// IdP's SingleLogoutService; the IdP ends its session and sends its
// LogoutResponse, with the gateway's state as RelayState, to the "Signed
// out" page. An IdP whose metadata has no HTTP-Redirect
// SingleLogoutService, single_logout false, or a sign-out without a
// session leave the IdP's session alone.
func (a *authenticator) SignOut(ctx context.Context, req sdk.SignOutRequest) (sdk.SignOutResult, error) {
	ret, err := url.Parse(req.ReturnURL)
	if err != nil || ret.Host == "" {
		return sdk.SignOutResult{}, fmt.Errorf("the gateway sent no usable return URL (%q)", clip(req.ReturnURL))
	}
	nameID := req.Identity.Subject
	if a.cfg.SubjectAttribute != "" {
		nameID, _ = req.Identity.Claims["name_id"].(string)
	}
	sp := a.serviceProvider(ret, a.idp.get(ctx), a.now())
	switch {
	case !a.singleLogout(sp, req.ReturnURL):
		return sdk.SignOutResult{Reason: "single_logout is false"}, nil
	case nameID == "":
		return sdk.SignOutResult{Reason: "no SAML NameID to sign out (no session)"}, nil
	case sp.GetSLOBindingLocation(crewjam.HTTPRedirectBinding) == "":
		return sdk.SignOutResult{Reason: "the IdP's metadata has no SingleLogoutService with the HTTP-Redirect binding"}, nil
	}
	opts := []crewjam.LogoutRequestOption{}
	if si, _ := req.Identity.Claims["session_index"].(string); si != "" {
		opts = append(opts, crewjam.WithSessionIndex(si))
	}
	if f, _ := req.Identity.Claims["name_id_format"].(string); f != "" {
		opts = append(opts, func(r *crewjam.LogoutRequest) {
			if r.NameID != nil {
				r.NameID.Format = f
			}
		})
	}
	loc, err := sp.MakeRedirectLogoutRequest(nameID, req.State, opts...)
	if err != nil {
		return sdk.SignOutResult{}, fmt.Errorf("making the LogoutRequest: %w", err)
	}
	return sdk.SignOutResult{Location: loc.String(), Reason: "sent to the SAML IdP's SingleLogoutService " + sp.IDPMetadata.EntityID}, nil
}
