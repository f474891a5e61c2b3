// Package oidc is the OpenID Connect Authenticator: it signs browser users
// in at an OpenID provider with the authorization code flow and PKCE
// (S256), checks the ID token (signature against the provider's JWKS,
// issuer, audience, expiry, nonce) and maps its claims (subject, UPN,
// e-mail, groups, amr, acr) into the identity. Clients that are not
// browsers get a 401 with WWW-Authenticate instead of a redirect and, if
// configured, may sign in with a JWT access token from the same provider
// (Authorization: Bearer).
//
// The plug-in keeps no state: what the callback needs (state, nonce, PKCE
// verifier) travels in the sealed state the gateway keeps for it. One
// instance serves one app, so each app may use its own provider and
// client. The provider is discovered on first use and asked again while
// it cannot be reached, so a gateway may start before its provider. See
// README.md for the config.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse/gatehouse/sdk"
)

// Plugin is the oidc plug-in, for sdk.Serve or the gateway's built-ins.
func Plugin() sdk.Plugin {
	return sdk.Plugin{Authenticator: func(ctx context.Context, req sdk.ConfigureRequest) (sdk.Authenticator, error) {
		return New(ctx, req, time.Now)
	}, Capabilities: []sdk.Capability{sdk.CapabilitySignOut}}
}

// authenticator is one app's configured OpenID Connect sign-in.
type authenticator struct {
	cfg    config
	realm  string // the app's name, for WWW-Authenticate
	client *http.Client
	disc   *discovery
	now    func() time.Time
}

var (
	_ sdk.Authenticator = (*authenticator)(nil)
	_ sdk.SignOuter     = (*authenticator)(nil)
)

// loadWait bounds how long New waits for the first discovery: a provider
// that is slow or down delays nothing but its own sign-ins.
const loadWait = 2 * time.Second

// New builds the Authenticator for one app from its config; now is its
// clock. It tries to discover the provider at once, so that a wrong
// issuer is reported when the config is loaded; a provider that cannot be
// reached yet is only logged, and asked again at the first sign-in.
func New(ctx context.Context, req sdk.ConfigureRequest, now func() time.Time) (sdk.Authenticator, error) {
	cfg, err := decode(req)
	if err != nil {
		return nil, err
	}
	client, err := httpClient(cfg)
	if err != nil {
		return nil, err
	}
	log := req.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &authenticator{cfg: cfg, realm: realm(req.App), client: client, now: now,
		disc: &discovery{cfg: cfg, client: client, now: now, log: log}}
	ctx, cancel := context.WithTimeout(ctx, loadWait)
	defer cancel()
	if _, err := a.disc.get(ctx); err != nil {
		if mismatch, ok := errors.AsType[*oidc.IssuerMismatchError](err); ok {
			return nil, sdk.FieldErrorf("issuer", "the provider at %q calls itself %q: set issuer to exactly that (a trailing slash counts)",
				mismatch.Provided, mismatch.Discovered)
		}
	}
	return a, nil
}

// Authenticate answers for a request without a session: the provider's
// answer on the callback URL finishes a sign-in; an API client is checked
// by its bearer token or told to sign in (401); a browser is sent to the
// provider.
func (a *authenticator) Authenticate(ctx context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	if err := ctx.Err(); err != nil {
		return sdk.AuthResult{}, err
	}
	callback, err := url.Parse(req.CallbackURL)
	if err != nil || (callback.Scheme != "https" && callback.Scheme != "http") || callback.Host == "" {
		return sdk.AuthResult{}, fmt.Errorf("the gateway sent no usable callback URL (%q)", clip(req.CallbackURL))
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return failed(http.StatusBadRequest, "request URL does not parse", "Bad request",
			"The address of this request cannot be read.", ""), nil
	}
	if u.Path == callback.Path && strings.EqualFold(u.Host, callback.Host) {
		return a.callback(ctx, req, u)
	}
	browser := wantsHTML(req.Header)
	if tok, ok := bearerToken(req.Header); ok && (a.cfg.Bearer != nil || !browser) {
		return a.bearer(ctx, tok)
	}
	if !browser {
		return a.unauthorized("sign-in required; not a browser, so no redirect", ""), nil
	}
	return a.start(ctx, callback.String())
}

// wantsHTML tells a browser, which can follow a redirect to a sign-in
// page, from a script or an API client, which needs a 401.
func wantsHTML(h http.Header) bool {
	if strings.EqualFold(h.Get("X-Requested-With"), "XMLHttpRequest") {
		return false
	}
	for _, v := range h.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}

// realm is app as a quoted-string's content.
func realm(app string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, app)
}
