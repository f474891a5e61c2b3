package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse/gatehouse/sdk"
)

// claimsOf is every claim of a verified token. Numbers stay json.Numbers:
// group ids may be too large for a float64.
func claimsOf(tok *oidc.IDToken) (map[string]any, error) {
	var raw json.RawMessage
	if err := tok.Claims(&raw); err != nil {
		return nil, err
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("decoding the claims: %w", err)
	}
	return claims, nil
}

// identity maps a verified token's claims into an identity, as the
// *_claim keys say. The identity ends at expiry, or lifetime from now if
// lifetime is not 0. The claims named in extra are copied into
// Identity.Claims, as those of extra_claims are.
func (a *authenticator) identity(claims map[string]any, expiry time.Time, lifetime time.Duration, extra ...string) (sdk.Identity, error) {
	sub := str(claims["sub"])
	if sub == "" {
		return sdk.Identity{}, errors.New("the token has no sub claim")
	}
	id := sdk.Identity{
		Subject: sub,
		Name:    str(claims[a.cfg.NameClaim]),
		Groups:  strs(claims[a.cfg.GroupsClaim]),
		AMR:     strs(claims[a.cfg.AMRClaim]),
		Claims:  map[string]any{"iss": a.cfg.Issuer},
		Expiry:  expiry,
	}
	if lifetime > 0 {
		id.Expiry = a.now().Add(lifetime)
	}
	if a.cfg.UPNClaim != "" {
		id.UPN = str(claims[a.cfg.UPNClaim])
	} else if id.UPN = str(claims["upn"]); id.UPN == "" {
		id.UPN = str(claims["preferred_username"])
	}
	// An address the provider says it has not verified is nobody's.
	if verified, ok := claims["email_verified"].(bool); !ok || verified || a.cfg.EmailClaim != "email" {
		id.Email = str(claims[a.cfg.EmailClaim])
	}
	if acr := str(claims[a.cfg.ACRClaim]); acr != "" {
		id.Claims["acr"] = acr
	}
	for _, name := range append(extra, a.cfg.ExtraClaims...) {
		if v, ok := claims[name]; ok {
			id.Claims[name] = v
		}
	}
	return id, nil
}

// str is a claim's value if it is a string.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs is a claim's values: a list of strings (numbers as their text), or
// a single string as a list of one. Other values are left out.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			switch e := e.(type) {
			case string:
				if e != "" {
					out = append(out, e)
				}
			case json.Number:
				out = append(out, e.String())
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}
