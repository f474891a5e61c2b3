package tunnel

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/release"
)

// TokenPrefix starts every enrollment token, so a pasted string is recognised.
const TokenPrefix = "gh1_"

// Token is a one-time enrollment token as an operator pastes it. It carries
// everything a new connector needs to find and trust the gateway: the
// secret proves the connector may enroll, CAPin (like kubeadm's discovery
// hash) lets it verify the gateway before sending anything.
type Token struct {
	ID     string   `json:"id"`
	Secret string   `json:"secret"`
	CAPin  string   `json:"ca"`    // Fingerprint of the gateway CA certificate
	Addrs  []string `json:"addrs"` // gateway tunnel addresses, host:port
	// ReleaseKey is the release public key (release.FormatPublicKey) the
	// connector trusts for signed updates; empty when the gateway has none.
	ReleaseKey string `json:"release_key,omitempty"`
}

// Encode returns the token as one copy-pasteable string.
func (t Token) Encode() string {
	b, _ := json.Marshal(t) // cannot fail: strings only
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseToken decodes a token string and checks that it is complete.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	var t Token
	if !strings.HasPrefix(s, TokenPrefix) {
		return t, fmt.Errorf("not a Gatehouse enrollment token (it should start with %q; create one with 'gatehouse token create --group NAME')", TokenPrefix)
	}
	b, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	if err != nil {
		return t, errors.New("enrollment token is damaged (bad base64): copy it again in one piece")
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, errors.New("enrollment token is damaged (bad JSON): copy it again in one piece")
	}
	switch {
	case t.ID == "" || t.Secret == "":
		return t, errors.New("enrollment token has no id or secret: create a new one")
	case !strings.HasPrefix(t.CAPin, "sha256:") || len(t.CAPin) != len("sha256:")+64:
		return t, errors.New("enrollment token has no valid CA pin: create a new one")
	}
	if t.ReleaseKey != "" {
		if _, err := release.ParsePublicKey(t.ReleaseKey); err != nil {
			return t, fmt.Errorf("enrollment token has an invalid release key (%v): create a new one", err)
		}
	}
	return t, nil
}

// Fingerprint names a certificate by the SHA-256 of its DER: "sha256:<hex>".
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// EnrollRequest is what a new connector sends with its token.
type EnrollRequest struct {
	TokenID  string `json:"token_id"`
	Secret   string `json:"secret"`
	CSR      []byte `json:"csr"` // DER
	Hostname string `json:"hostname"`
	Version  string `json:"version"`
}

// EnrollResponse answers an EnrollRequest: either Error, or the rest.
type EnrollResponse struct {
	Error       string `json:"error,omitempty"`
	ConnectorID string `json:"connector_id,omitempty"`
	Group       string `json:"group,omitempty"`
	CertPEM     []byte `json:"cert_pem,omitempty"`
	CAPEM       []byte `json:"ca_pem,omitempty"`
	// EnvelopeKey is the gateway's Ed25519 public key for identity
	// envelopes; the connector pins it with the CA.
	EnvelopeKey []byte `json:"envelope_key,omitempty"`
}
