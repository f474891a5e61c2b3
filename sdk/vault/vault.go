// Package vault is the sealed-credentials format of the password vault:
// the gateway seals a user's credentials for an app to the public key of
// the app's connector group (HPKE, RFC 9180: X25519, HKDF-SHA256,
// AES-256-GCM), and only the vault plug-in at a connector, which holds the
// private key, can open them. The seal is bound to the app and the user,
// so a ciphertext moved to another user or app does not open.
package vault

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
)

// Credentials are what the vault keeps for one user and app.
type Credentials struct {
	Username string `json:"u"`
	Password string `json:"p"`
}

// String never shows the password.
func (c Credentials) String() string { return "credentials for " + c.Username }

// Shared is the subject under which an admin stores an app's shared
// credentials, used for users who have none of their own.
const Shared = "*"

const pemType = "GATEHOUSE VAULT PRIVATE KEY"

var kem = hpke.DHKEM(ecdh.X25519())

func info(app, subject string) []byte {
	return []byte("gatehouse vault v1\x00" + app + "\x00" + subject)
}

// NewKey makes a key pair: the private key as PEM (for the connector's key
// file) and the public key as base64 (for the gateway's config).
func NewKey() (privPEM []byte, pub string, err error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: k.Bytes()}),
		base64.StdEncoding.EncodeToString(k.PublicKey().Bytes()), nil
}

// PublicKey parses a public key as NewKey prints it.
func PublicKey(b64 string) (hpke.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("vault public key: not base64: %w", err)
	}
	pub, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("vault public key: %w", err)
	}
	return hpke.NewDHKEMPublicKey(pub)
}

// PrivateKey parses a key file as NewKey writes it.
func PrivateKey(privPEM []byte) (hpke.PrivateKey, error) {
	block, _ := pem.Decode(privPEM)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("vault key: not a %q PEM block", pemType)
	}
	k, err := ecdh.X25519().NewPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("vault key: %w", err)
	}
	return hpke.NewDHKEMPrivateKey(k)
}

// Seal encrypts c for app and subject to pub.
func Seal(pub hpke.PublicKey, app, subject string, c Credentials) ([]byte, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return hpke.Seal(pub, hpke.HKDFSHA256(), hpke.AES256GCM(), info(app, subject), plain)
}

// ErrOpen means the sealed credentials do not open with this key for this
// app and subject.
var ErrOpen = errors.New("vault: sealed credentials do not open with this key for this app and user")

// Open decrypts what Seal made for app and subject.
func Open(priv hpke.PrivateKey, app, subject string, sealed []byte) (Credentials, error) {
	plain, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.AES256GCM(), info(app, subject), sealed)
	if err != nil {
		return Credentials{}, ErrOpen
	}
	var c Credentials
	if err := json.Unmarshal(plain, &c); err != nil {
		return Credentials{}, ErrOpen
	}
	return c, nil
}
