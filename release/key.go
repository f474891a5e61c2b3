package release

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
)

// PublicKeyPrefix starts a release public key written as text: the prefix,
// then the standard padded base64 of the 32 key bytes.
const PublicKeyPrefix = "gatehouse-release-ed25519:"

// PrivateKeyPrefix starts a release private key file: the prefix, then the
// standard padded base64 of the 64-byte Ed25519 private key.
const PrivateKeyPrefix = "gatehouse-release-ed25519-private:"

// ParsePublicKey reads a public key written by FormatPublicKey.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := decodeKey(s, PublicKeyPrefix, ed25519.PublicKeySize, "public")
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(b), nil
}

// FormatPublicKey writes a public key as PublicKeyPrefix + base64.
func FormatPublicKey(k ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(k)
}

// ParsePrivateKey reads a private key written by FormatPrivateKey (the
// content of a key file; surrounding white space is ignored).
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := decodeKey(s, PrivateKeyPrefix, ed25519.PrivateKeySize, "private")
	if err != nil {
		return nil, err
	}
	k := ed25519.PrivateKey(b)
	// The last 32 bytes are the public key; a file whose halves do not
	// belong together would sign with one key and claim another.
	if !k.Public().(ed25519.PublicKey).Equal(ed25519.NewKeyFromSeed(k.Seed()).Public()) {
		return nil, fmt.Errorf("release private key: the public half does not match the seed (the key file is damaged)")
	}
	return k, nil
}

// FormatPrivateKey writes a private key as PrivateKeyPrefix + base64.
func FormatPrivateKey(k ed25519.PrivateKey) string {
	return PrivateKeyPrefix + base64.StdEncoding.EncodeToString(k)
}

func decodeKey(s, prefix string, size int, what string) ([]byte, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return nil, fmt.Errorf("release %s key: must start with %q", what, prefix)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("release %s key: the part after %q is not standard base64: %v", what, prefix, err)
	}
	if len(b) != size {
		return nil, fmt.Errorf("release %s key: %d bytes, want %d", what, len(b), size)
	}
	return b, nil
}
