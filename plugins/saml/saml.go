// Package saml is the SAML 2.0 Authenticator: it signs browser users in
// at a SAML identity provider (Entra ID, AD FS, Okta, Shibboleth,
// SimpleSAMLphp, ...) with the Web Browser SSO profile, on
// github.com/crewjam/saml. It sends a signed AuthnRequest with the
// HTTP-Redirect binding, takes the IdP's Response with the HTTP-POST
// binding at the app's callback URL, checks it (XML signature of the
// Response or the Assertion against the IdP's metadata, issuer, audience,
// time conditions, InResponseTo, Destination and Recipient, single use)
// and maps its attributes (subject, UPN, e-mail, name, groups,
// authentication methods) into the identity.
//
// The plug-in keeps no state that a sign-in depends on: the id of the
// AuthnRequest travels in the sealed state the gateway keeps for it, and
// the gateway clears that state at the callback, so every request id is
// answered once. A plug-in cannot serve paths of its own, so the service
// provider metadata is served at the callback URL with ?metadata. See
// README.md for the config.
package saml

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// Plugin is the saml plug-in, for sdk.Serve or the gateway's built-ins.
func Plugin() sdk.Plugin {
	return sdk.Plugin{Authenticator: func(ctx context.Context, req sdk.ConfigureRequest) (sdk.Authenticator, error) {
		return New(ctx, req, time.Now)
	}, Capabilities: []sdk.Capability{sdk.CapabilitySignOut}}
}

// authenticator is one app's configured SAML sign-in. It does not change
// after New, except for the IdP metadata a URL serves, which is fetched
// again now and then.
type authenticator struct {
	cfg    config
	realm  string // the app's name, for WWW-Authenticate
	key    crypto.Signer
	cert   *x509.Certificate
	sigAlg string // the AuthnRequest signature method for key
	idp    *idpMetadata
	seen   *replayCache
	log    *slog.Logger
	now    func() time.Time
}

var (
	_ sdk.Authenticator = (*authenticator)(nil)
	_ sdk.SignOuter     = (*authenticator)(nil)
)

// New builds the Authenticator for one app from its config; now is its
// clock. It reads the SP's key and certificate and loads the IdP's
// metadata: a file that cannot be read or a URL that cannot be fetched
// refuses the config, naming the key.
func New(ctx context.Context, req sdk.ConfigureRequest, now func() time.Time) (sdk.Authenticator, error) {
	cfg, err := decode(req)
	if err != nil {
		return nil, err
	}
	key, cert, sigAlg, err := loadKeyPair(cfg)
	if err != nil {
		return nil, err
	}
	log := req.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if t := now(); t.After(cert.NotAfter) {
		log.Warn("the SP certificate has expired; IdPs that check it will refuse the signed AuthnRequests",
			"file", cfg.SPCertFile, "not_after", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	idp, err := loadIdP(ctx, cfg, log, now)
	if err != nil {
		return nil, err
	}
	return &authenticator{cfg: cfg, realm: realm(req.App), key: key, cert: cert, sigAlg: sigAlg,
		idp: idp, seen: newReplayCache(maxReplayEntries), log: log, now: now}, nil
}

// Authenticate answers for a request without a session: on the callback
// URL it serves the SP metadata (GET ?metadata) or finishes a sign-in (the
// IdP's POST); a browser elsewhere is sent to the IdP; other clients get a
// 401.
func (a *authenticator) Authenticate(ctx context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	if err := ctx.Err(); err != nil {
		return sdk.AuthResult{}, err
	}
	callback, err := url.Parse(req.CallbackURL)
	if err != nil || (callback.Scheme != "https" && callback.Scheme != "http") || callback.Host == "" ||
		callback.RawQuery != "" || callback.Fragment != "" || callback.User != nil {
		return sdk.AuthResult{}, fmt.Errorf("the gateway sent no usable callback URL (%q)", clip(req.CallbackURL))
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return failed(http.StatusBadRequest, "request URL does not parse", "Bad request",
			"The address of this request cannot be read.", ""), nil
	}
	if u.Path == callback.Path && strings.EqualFold(u.Host, callback.Host) {
		if _, ok := u.Query()["metadata"]; ok && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
			return a.metadata(callback, req.SignedOutURL)
		}
		return a.callback(ctx, req, callback)
	}
	if !wantsHTML(req.Header) {
		res := sdk.Challenge(http.StatusUnauthorized, http.Header{
			"Www-Authenticate": {`SAML realm="` + a.realm + `"`},
			"Content-Type":     {"text/plain; charset=utf-8"},
		}, []byte("This app needs you to sign in. Open it in a browser.\n"))
		res.Reason = "sign-in required; not a browser, so no redirect to the SAML IdP"
		return res, nil
	}
	return a.start(ctx, callback)
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

// clip keeps a string from an IdP or a client short and on one line
// before it goes into a log.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.ToValidUTF8(s, "")
}
