package header

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// signer makes the ES256 JWT assertion for one app, with the host's newest
// signing key. It is a dozen lines of the standard library, so the plug-in
// carries no JOSE dependency (see RATIONALE.md, "Plug-ins").
type signer struct {
	header   string
	key      *ecdsa.PrivateKey
	jose     string // encoded JOSE header, the same for every token
	iss, aud string
	ttl      time.Duration
	now      func() time.Time
}

func newSigner(req sdk.ConfigureRequest, cfg jwtConfig, now func() time.Time) (*signer, error) {
	if len(req.Keys) == 0 {
		return nil, sdk.FieldErrorf("jwt", "the host passed no signing key; the gateway hands one to the connector with the app's config")
	}
	key, err := req.Keys[0].PrivateKey()
	if err != nil {
		return nil, sdk.FieldErrorf("jwt", "%v", err)
	}
	jose, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": req.Keys[0].ID})
	if err != nil {
		return nil, err
	}
	return &signer{
		header: http.CanonicalHeaderKey(cfg.Header), key: key,
		jose: b64(jose), iss: cfg.Issuer, aud: cfg.Audience, ttl: cfg.TTL, now: now,
	}, nil
}

// claims are the assertion's claims.
type claims struct {
	Iss    string   `json:"iss"`
	Aud    string   `json:"aud"`
	Sub    string   `json:"sub"`
	Email  string   `json:"email,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Iat    int64    `json:"iat"`
	Exp    int64    `json:"exp"`
}

// sign returns the compact JWS of id's assertion, signed at now, and when
// it expires: after the configured TTL, or when the identity or the
// session (sessionEnd, zero if the host did not say) ends if that is
// sooner. The "exp" claim is in whole seconds, rounded down, so it is
// never past either.
func (s *signer) sign(id sdk.Identity, sessionEnd, now time.Time) (string, time.Time, error) {
	exp := now.Add(s.ttl)
	for _, end := range []time.Time{id.Expiry, sessionEnd} {
		if !end.IsZero() && end.Before(exp) {
			exp = end
		}
	}
	exp = time.Unix(exp.Unix(), 0)
	payload, err := json.Marshal(claims{
		Iss: s.iss, Aud: s.aud, Sub: id.Subject, Email: id.Email, Groups: id.Groups,
		Iat: now.Unix(), Exp: exp.Unix(),
	})
	if err != nil {
		return "", exp, fmt.Errorf("encoding the assertion: %w", err)
	}
	signing := s.jose + "." + b64(payload)
	digest := sha256.Sum256([]byte(signing))
	r, sv, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		return "", exp, fmt.Errorf("signing the assertion: %w", err)
	}
	sig := make([]byte, 64) // JWS ES256: R and S, 32 bytes each, big-endian
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return signing + "." + b64(sig), exp, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
