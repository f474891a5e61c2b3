package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse/gatehouse/sdk"
	"golang.org/x/oauth2"
)

// flowState is what a sign-in needs back at the callback. The gateway
// keeps it sealed in a cookie (sdk.AuthResult.State): the client can
// neither read nor change it, and this plug-in keeps nothing.
type flowState struct {
	State       string `json:"s"` // the state parameter: ties the callback to this browser
	Nonce       string `json:"n"` // must come back in the ID token: ties the token to this sign-in
	Verifier    string `json:"v"` // PKCE code_verifier: only we can redeem the code
	RedirectURI string `json:"r"` // the redirect_uri sent, which the token request must repeat
}

// start sends a browser to the provider's authorization endpoint:
// authorization code flow with PKCE (S256), a fresh state and nonce.
func (a *authenticator) start(ctx context.Context, callback string) (sdk.AuthResult, error) {
	p, err := a.disc.get(ctx)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	st := flowState{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), RedirectURI: callback}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if len(a.cfg.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(a.cfg.ACRValues, " ")))
	}
	b, err := json.Marshal(st)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	res := sdk.Redirect(a.oauth2(p, callback).AuthCodeURL(st.State, opts...), b)
	res.Reason = "sent to the OpenID provider " + a.cfg.Issuer + " to sign in"
	return res, nil
}

func (a *authenticator) oauth2(p *provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: p.endpoint,
		RedirectURL: redirectURI, Scopes: a.cfg.Scopes}
}

// callback finishes a sign-in when the provider sends the browser back:
// it checks the state, redeems the code with the PKCE verifier, checks the
// ID token (signature, issuer, audience, expiry, nonce, at_hash, azp) and
// maps its claims into the identity. Whatever the provider or the client got
// wrong is a Challenge with a page that says so; only a provider that
// cannot be reached is an error.
func (a *authenticator) callback(ctx context.Context, req sdk.AuthRequest, u *url.URL) (sdk.AuthResult, error) {
	if req.State == nil {
		return failed(http.StatusBadRequest, "callback without a sign-in in progress (no state cookie)",
			"Sign-in expired", "This sign-in was not started here or took too long. Open the app again to start over.", ""), nil
	}
	var st flowState
	if err := json.Unmarshal(req.State, &st); err != nil || st.State == "" || st.Nonce == "" || st.Verifier == "" || st.RedirectURI == "" {
		return failed(http.StatusBadRequest, "callback with unreadable sign-in state",
			"Sign-in failed", "The sign-in could not be completed. Open the app again to start over.", ""), nil
	}
	q := u.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return failed(http.StatusBadRequest, "callback state parameter does not match the sign-in in progress",
			"Sign-in failed", "This answer from the identity provider belongs to another sign-in. Open the app again to start over.", ""), nil
	}
	// RFC 9207: a provider that names itself must be ours (mix-up defence).
	if iss, ok := q["iss"]; ok && (len(iss) != 1 || iss[0] != a.cfg.Issuer) {
		return failed(http.StatusBadRequest, "callback iss parameter "+clip(q.Get("iss"))+" is not the configured issuer",
			"Sign-in failed", "The answer came from an identity provider this app does not use. Open the app again to start over.", ""), nil
	}
	if code := q.Get("error"); code != "" {
		return providerError(code, q.Get("error_description")), nil
	}
	code := q.Get("code")
	if code == "" {
		return failed(http.StatusBadRequest, "callback without a code",
			"Sign-in failed", "The identity provider's answer has no authorization code. Open the app again to start over.", ""), nil
	}
	return a.redeem(ctx, st, code)
}

// redeem exchanges the code for tokens and checks the ID token; its
// claims become the identity.
func (a *authenticator) redeem(ctx context.Context, st flowState, code string) (sdk.AuthResult, error) {
	p, err := a.disc.get(ctx)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	tok, err := a.oauth2(p, st.RedirectURI).Exchange(context.WithValue(ctx, oauth2.HTTPClient, a.client), code,
		oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 && ctx.Err() == nil {
			// The provider refused the code: used before, expired, or the
			// verifier does not match.
			return failed(http.StatusBadRequest, "the token endpoint refused the code: "+clip(re.ErrorCode+" "+re.ErrorDescription),
				"Sign-in failed", "The identity provider did not accept this sign-in; it may have been used already or have expired. Open the app again to start over.", re.ErrorCode), nil
		}
		return sdk.AuthResult{}, fmt.Errorf("redeeming the authorization code at %s: %w", p.endpoint.TokenURL, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return sdk.AuthResult{}, fmt.Errorf("the token endpoint %s answered without an id_token: is the openid scope allowed for client %q?", p.endpoint.TokenURL, a.cfg.ClientID)
	}
	idt, err := verify(ctx, p.idTokens, raw)
	if errors.Is(err, errRefused) {
		return failed(http.StatusUnauthorized, "ID token refused: "+clip(err.Error()),
			"Sign-in failed", "The identity provider's answer did not pass Gatehouse's checks. Tell your IT team if this happens again.", ""), nil
	}
	if err != nil {
		return sdk.AuthResult{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return failed(http.StatusUnauthorized, "ID token nonce does not match the sign-in in progress",
			"Sign-in failed", "The identity provider's answer belongs to another sign-in. Open the app again to start over.", ""), nil
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return failed(http.StatusUnauthorized, "ID token at_hash does not match the access token: "+clip(err.Error()),
				"Sign-in failed", "The identity provider's answer did not pass Gatehouse's checks.", ""), nil
		}
	}
	claims, err := claimsOf(idt)
	if err == nil {
		// OpenID Connect Core 3.1.3.7: a token for several audiences names
		// the client it was issued to; it must be us.
		if azp, ok := claims["azp"]; ok && azp != a.cfg.ClientID {
			return failed(http.StatusUnauthorized, fmt.Sprintf("ID token was issued to another client (azp %q)", clip(fmt.Sprint(azp))),
				"Sign-in failed", "The identity provider's answer was meant for another application.", ""), nil
		}
	}
	var id sdk.Identity
	if err == nil {
		id, err = a.identity(claims, idt.Expiry, a.cfg.IdentityLifetime)
	}
	if err != nil {
		return failed(http.StatusUnauthorized, "ID token claims unusable: "+clip(err.Error()),
			"Sign-in failed", "The identity provider's answer does not say who you are in a way this app can use. Tell your IT team.", ""), nil
	}
	res := sdk.Authenticated(id)
	res.Reason = "signed in at " + a.cfg.Issuer
	return res, nil
}

// providerError is the answer to a callback that carries an OAuth error
// from the provider (RFC 6749 4.1.2.1): the user cancelled or was refused.
func providerError(code, desc string) sdk.AuthResult {
	reason := "the OpenID provider answered error=" + clip(code)
	if desc != "" {
		reason += ": " + clip(desc)
	}
	switch code {
	case "access_denied", "login_required", "consent_required", "interaction_required", "account_selection_required",
		"unmet_authentication_requirements":
		return failed(http.StatusForbidden, reason, "Sign-in refused",
			"Open the app again to try once more.", code)
	}
	return failed(http.StatusBadGateway, reason, "Sign-in failed",
		"The identity provider could not sign you in. Try again in a minute; tell your IT team if it keeps happening.", code)
}

// clip keeps a string from a provider or a client short and on one line
// before it goes into a log.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "")
}
