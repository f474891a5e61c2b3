package oidc

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse/gatehouse/sdk"
)

// bearerToken is the token of an "Authorization: Bearer TOKEN" header.
func bearerToken(h http.Header) (string, bool) {
	scheme, tok, ok := strings.Cut(h.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// bearer signs in an API client by its JWT: signed by the provider (its
// JWKS), issued by the configured issuer, for bearer.audience, not
// expired. Anything else is a 401 (RFC 6750), not an error.
func (a *authenticator) bearer(ctx context.Context, raw string) (sdk.AuthResult, error) {
	if a.cfg.Bearer == nil {
		return a.unauthorized("bearer token presented, but this app takes none",
			`error="invalid_token", error_description="this app does not accept bearer tokens"`), nil
	}
	p, err := a.disc.get(ctx)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	tok, err := verify(ctx, p.bearer, raw)
	if errors.Is(err, errRefused) {
		desc := "the token is not valid for this app"
		if _, expired := errors.AsType[*oidc.TokenExpiredError](err); expired {
			desc = "the token has expired"
		}
		return a.unauthorized("bearer token refused: "+clip(err.Error()),
			`error="invalid_token", error_description="`+desc+`"`), nil
	}
	if err != nil {
		return sdk.AuthResult{}, err
	}
	// An API session ends with its token, whatever identity_lifetime says.
	// The client it was issued to and its scopes are kept for policies;
	// "iat" lets the gateway refuse a token issued before the user's
	// sessions were revoked.
	claims, err := claimsOf(tok)
	var id sdk.Identity
	if err == nil {
		id, err = a.identity(claims, tok.Expiry, 0, "client_id", "azp", "scope", "iat")
	}
	if err != nil {
		return a.unauthorized("bearer token claims unusable: "+clip(err.Error()),
			`error="invalid_token", error_description="the token does not say who the caller is"`), nil
	}
	res := sdk.Authenticated(id)
	res.Reason = "bearer token from " + a.cfg.Issuer
	return res, nil
}

// unauthorized is the 401 for a client that cannot follow a redirect to a
// sign-in page; params are extra WWW-Authenticate parameters.
func (a *authenticator) unauthorized(reason, params string) sdk.AuthResult {
	challenge := `Bearer realm="` + a.realm + `"`
	if params != "" {
		challenge += ", " + params
	}
	text := "This app needs you to sign in. Open it in a browser"
	if a.cfg.Bearer != nil {
		text += ", or send an access token from " + a.cfg.Issuer + " as Authorization: Bearer"
	}
	res := sdk.Challenge(http.StatusUnauthorized, http.Header{
		"Www-Authenticate": {challenge},
		"Content-Type":     {"text/plain; charset=utf-8"},
	}, []byte(text+".\n"))
	res.Reason = reason
	return res
}
