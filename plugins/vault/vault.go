// Package vault is the password vault's Injector: it signs a user in to a
// backend with a username and password of the backend's own, kept for that
// user and app by the gateway.
//
// The gateway keeps credentials only as ciphertext, sealed (package
// sdk/vault) to the public key of the app's connector group, and hands the
// user's sealed credentials (or the app's shared ones) to the connector with
// each request, in InjectRequest.Secret (given only to a plug-in that
// declares sdk.CapabilityCredentials, as this one does). Only this
// plug-in, at a connector, holds the private key (its key_file) and opens
// them, bound to the app and to the user the gateway signed in. Two modes:
//
//   - basic: an Authorization: Basic header, with RejectStatus 401, so a
//     backend that refuses the password sends the user to the gateway's
//     credentials page instead of the browser's password prompt;
//   - form: the plug-in posts the backend's login form itself and adds the
//     backend's session cookies to the user's requests, keeping them in
//     memory per user for session_ttl.
//
// No credentials, or credentials that do not open, are answered with
// AskCredentials. A password is never logged, returned, or kept past the
// call that opened it. See README.md for the config and for why ReuseFor
// is never set.
package vault

import (
	"context"
	"crypto/hpke"
	"encoding/base64"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	sealed "github.com/gatehouse/gatehouse/sdk/vault"
)

// Plugin is the vault plug-in, for sdk.Serve or the built-ins. It
// declares the credentials capability: without it the host would give it
// no Secret and refuse its AskCredentials and RejectStatus.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Injector: func(ctx context.Context, req sdk.ConfigureRequest) (sdk.Injector, error) {
			return New(req)
		},
		Capabilities: []sdk.Capability{sdk.CapabilityCredentials},
	}
}

// injector is one app's configured vault Injector.
type injector struct {
	app          string
	key          hpke.PrivateKey
	rejectStatus int
	log          *slog.Logger
	form         *former // nil in mode basic
}

var _ sdk.Injector = (*injector)(nil)

// New builds the Injector for one app from its config: it reads the key
// file, but does not talk to the backend; the first request does.
func New(req sdk.ConfigureRequest) (sdk.Injector, error) {
	in, err := newInjector(req, nil)
	if in == nil {
		return nil, err // a nil *injector must not become a non-nil interface
	}
	return in, nil
}

// newInjector is New with a clock for session expiry; nil means time.Now.
// A check-only configure returns nil and no error for a good config.
func newInjector(req sdk.ConfigureRequest, now func() time.Time) (*injector, error) {
	if now == nil {
		now = time.Now
	}
	s, err := decode(req)
	if err != nil || req.CheckOnly {
		return nil, err // checked: the host closes the plug-in at once
	}
	log := req.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.keyMode&0o077 != 0 {
		log.Warn("vault: users other than the connector's can read the key file; chmod 600 it", "key_file", s.keyFile, "mode", s.keyMode.String())
	}
	in := &injector{app: req.App, key: s.key, rejectStatus: s.rejectStatus, log: log}
	if s.form != nil {
		in.form = newFormer(s.form, in.open, log, now)
		log.Info("vault: configured", "mode", s.mode, "login_url", s.form.loginURL.Redacted(), "session_ttl", s.form.sessionTTL)
	} else {
		log.Info("vault: configured", "mode", s.mode)
	}
	return in, nil
}

// Inject signs the request in with the user's stored credentials, or asks
// for credentials when there are none that open.
func (in *injector) Inject(ctx context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	if err := ctx.Err(); err != nil {
		return sdk.InjectResult{}, err
	}
	if req.Identity.Subject == "" {
		return sdk.InjectResult{}, errors.New("vault: the request's identity has no subject")
	}
	if in.form != nil {
		return in.form.inject(ctx, req, in.rejectStatus)
	}
	c, ok := in.open(req.Identity.Subject, req.Secret)
	if !ok {
		return askCredentials, nil
	}
	if strings.Contains(c.Username, ":") {
		// RFC 7617: a user-id with a colon cannot be sent in Basic.
		in.log.Info("vault: the stored username has a colon, which Basic cannot send; asking for new credentials", "subject", req.Identity.Subject)
		return askCredentials, nil
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
	// No ReuseFor: the connector keys its reuse cache by the session, not
	// by the secret, so it would keep sending a password the user has just
	// replaced (see README.md, "Why no ReuseFor").
	return sdk.InjectResult{
		Remove:       []string{"Authorization"},
		Set:          http.Header{"Authorization": {auth}},
		RejectStatus: in.rejectStatus,
	}, nil
}

var askCredentials = sdk.InjectResult{AskCredentials: true}

// open opens the sealed credentials for subject: sealed for the user, or,
// failing that, the app's shared ones. ok is false when there are none or
// they do not open with this key for this app and user.
func (in *injector) open(subject string, secret []byte) (c sealed.Credentials, ok bool) {
	if len(secret) == 0 {
		return c, false
	}
	c, err := sealed.Open(in.key, in.app, subject, secret)
	if err == nil {
		return c, true
	}
	if subject != sealed.Shared {
		if c, err = sealed.Open(in.key, in.app, sealed.Shared, secret); err == nil {
			return c, true
		}
	}
	in.log.Info("vault: the stored credentials do not open with this key for this app and user; asking for new ones",
		"subject", subject, "error", err)
	return sealed.Credentials{}, false
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
