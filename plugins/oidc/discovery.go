package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// retryAfter is how long a failed discovery is remembered: requests in
// that time fail at once instead of each knocking on a provider that is
// down.
const retryAfter = time.Second

// signingAlgs are the algorithms go-oidc verifies; "none" is never one.
var signingAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// provider is what discovery found out about the OpenID provider, with
// the verifiers built from it. It does not change once built.
type provider struct {
	endpoint oauth2.Endpoint
	idTokens *oidc.IDTokenVerifier // audience: the client id
	bearer   *oidc.IDTokenVerifier // audience: bearer.audience; nil if bearer tokens are off
	// endSession is the end_session_endpoint (RP-initiated logout); ""
	// if the provider has none, or one that is not an https URL.
	endSession string
}

// discovery fetches the provider's metadata on first use and keeps it. A
// provider that is down is asked again on a later request (after
// retryAfter), so a gateway that starts before its provider recovers by
// itself.
type discovery struct {
	cfg    config
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	flight singleflight.Group

	mu       sync.Mutex
	found    *provider
	failed   error
	failedAt time.Time
}

// get returns the provider, discovering it if needed. Concurrent callers
// share one discovery; each waits only as long as its own context allows,
// and a caller that gives up does not cancel it for the others.
func (d *discovery) get(ctx context.Context) (*provider, error) {
	d.mu.Lock()
	found, failed, failedAt := d.found, d.failed, d.failedAt
	d.mu.Unlock()
	switch {
	case found != nil:
		return found, nil
	case failed != nil && d.now().Sub(failedAt) < retryAfter:
		return nil, failed
	}
	ch := d.flight.DoChan("discover", func() (any, error) { return d.discover() })
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*provider), nil
	}
}

// discover runs one discovery, bounded by discovery_timeout, and records
// its outcome.
func (d *discovery) discover() (*provider, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.DiscoveryTimeout)
	defer cancel()
	p, err := d.fetch(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.failed, d.failedAt = err, d.now()
		d.log.Warn("OpenID provider discovery failed; sign-ins fail until it succeeds", "issuer", d.cfg.Issuer, "error", err)
		return nil, err
	}
	d.found, d.failed = p, nil
	d.log.Info("OpenID provider discovered", "issuer", d.cfg.Issuer, "authorization_endpoint", p.endpoint.AuthURL)
	return p, nil
}

func (d *discovery) fetch(ctx context.Context) (*provider, error) {
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, d.client), d.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering the OpenID provider %s: %w", d.cfg.Issuer, err)
	}
	var meta struct {
		JWKSURI     string   `json:"jwks_uri"`
		Algs        []string `json:"id_token_signing_alg_values_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
		EndSession  string   `json:"end_session_endpoint"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("reading the OpenID provider %s's metadata: %w", d.cfg.Issuer, err)
	}
	if meta.JWKSURI == "" {
		return nil, fmt.Errorf("the OpenID provider %s publishes no jwks_uri: its tokens cannot be checked", d.cfg.Issuer)
	}
	var algs []string
	for _, a := range meta.Algs {
		if slices.Contains(signingAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{"RS256"} // the one algorithm every provider must support
	}
	// The key set is fetched on first use; again, at most once per
	// refetchAfter, when a token is signed with a key it lacks (rotation).
	keys := &keySet{url: meta.JWKSURI, client: d.client, timeout: d.cfg.DiscoveryTimeout, now: d.now}
	verifier := func(audience string) *oidc.IDTokenVerifier {
		return oidc.NewVerifier(d.cfg.Issuer, keys, &oidc.Config{ClientID: audience, SupportedSigningAlgs: algs, Now: d.now})
	}
	p := &provider{endpoint: op.Endpoint(), idTokens: verifier(d.cfg.ClientID), endSession: endSessionURL(d.cfg.Issuer, meta.EndSession)}
	p.endpoint.AuthStyle = authStyle(d.cfg.ClientSecret != "", meta.AuthMethods)
	if d.cfg.Bearer != nil {
		p.bearer = verifier(d.cfg.Bearer.Audience)
	}
	return p, nil
}

// authStyle is how to authenticate at the token endpoint: a public client
// sends its id in the form; a confidential one uses HTTP Basic unless the
// provider only takes the secret in the form.
func authStyle(confidential bool, supported []string) oauth2.AuthStyle {
	if !confidential {
		return oauth2.AuthStyleInParams
	}
	if len(supported) > 0 && !slices.Contains(supported, "client_secret_basic") && slices.Contains(supported, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

type fetchFailureKey struct{}

// fetchFailure is where keySet.VerifySignature records why the keys could
// not be fetched, for the caller that put it in the context: go-oidc's
// error alone does not tell a provider that is down (an error) from a
// token whose signature is wrong (a refused token).
type fetchFailure struct{ err error }

// errRefused marks a token that was checked and found wanting: a result
// for the caller, not a broken provider.
var errRefused = errors.New("token refused")

// verify checks a JWT with v. An error wrapping errRefused means the token
// is bad; any other error means it could not be checked (the key set could
// not be fetched, or ctx ended).
func verify(ctx context.Context, v *oidc.IDTokenVerifier, raw string) (*oidc.IDToken, error) {
	var ff fetchFailure
	tok, err := v.Verify(context.WithValue(ctx, fetchFailureKey{}, &ff), raw)
	switch {
	case err == nil:
		return tok, nil
	case ff.err != nil:
		return nil, fmt.Errorf("fetching the OpenID provider's signing keys: %w", ff.err)
	}
	return nil, fmt.Errorf("%w: %w", errRefused, err)
}
