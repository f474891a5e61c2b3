package sdk

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
)

// A SigningKey is an ECDSA P-256 private key that the host hands to a
// plug-in (in [ConfigureRequest.Keys]) to sign assertions for a backend
// with ES256. The gateway owns the keys and publishes their public halves
// with [JWKS], so a backend can verify what the connector's plug-in signed.
type SigningKey struct {
	// ID is the key id ("kid"): the RFC 7638 thumbprint of the public key.
	ID string `json:"kid"`
	// PEM is the private key, a PKCS #8 "PRIVATE KEY" PEM block.
	PEM []byte `json:"pem"`
}

// NewSigningKey makes a new P-256 key.
func NewSigningKey() (SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generating a P-256 key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, fmt.Errorf("encoding the key: %w", err)
	}
	jwk, err := publicJWK(&priv.PublicKey)
	if err != nil {
		return SigningKey{}, err
	}
	return SigningKey{
		ID:  jwk.thumbprint(),
		PEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
	}, nil
}

// PrivateKey parses the key.
func (k SigningKey) PrivateKey() (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(k.PEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %q: not a PKCS #8 PRIVATE KEY PEM block", k.ID)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %q: %w", k.ID, err)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing key %q: want an ECDSA P-256 key, got %T", k.ID, parsed)
	}
	return priv, nil
}

// String names the key without its secret, so printing one is harmless.
func (k SigningKey) String() string { return "signing key " + k.ID }

// LogValue logs the key id only.
func (k SigningKey) LogValue() slog.Value { return slog.StringValue(k.ID) }

// JWKS renders the public halves of keys as a JSON Web Key Set (RFC 7517),
// which the gateway serves for backends that verify signed assertions.
func JWKS(keys ...SigningKey) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range keys {
		priv, err := k.PrivateKey()
		if err != nil {
			return nil, err
		}
		j, err := publicJWK(&priv.PublicKey)
		if err != nil {
			return nil, err
		}
		j.Kid, j.Use, j.Alg = k.ID, "sig", "ES256"
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

// jwk is a public EC key in JWK form.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

func publicJWK(pub *ecdsa.PublicKey) (jwk, error) {
	raw, err := pub.Bytes() // 0x04 || X || Y, 32 bytes each for P-256
	if err != nil || len(raw) != 65 {
		return jwk{}, errors.New("signing key: not an uncompressed P-256 point")
	}
	enc := base64.RawURLEncoding.EncodeToString
	return jwk{Kty: "EC", Crv: "P-256", X: enc(raw[1:33]), Y: enc(raw[33:])}, nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint: the hash of the required
// members in lexical order, without whitespace.
func (j jwk) thumbprint() string {
	canon := fmt.Sprintf(`{"crv":%q,"kty":%q,"x":%q,"y":%q}`, j.Crv, j.Kty, j.X, j.Y)
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
