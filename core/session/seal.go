// Package session seals what the gateway keeps in a browser: the session
// of a signed-in user (one per app) and the short-lived state of a sign-in
// in progress. Both are AES-256-GCM sealed with a key from the store, bound
// to what they are for (the app and host), and carry their own expiry, so
// the gateway checks them without a plug-in call or a database read.
package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// ErrInvalid is returned for a value that was not sealed by this gateway
// for this purpose, or was changed since.
var ErrInvalid = errors.New("session: not a valid sealed value")

// MaxCookie bounds a sealed cookie value: browsers keep about 4 KiB per
// cookie, name and attributes included.
const MaxCookie = 3900

// A Sealer seals and opens values with one key.
type Sealer struct {
	aead   cipher.AEAD
	opened opened // sessions opened before (opened.go)
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("session: key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts and authenticates plaintext for purpose (which is not
// secret but must match on Open), returning cookie-safe text.
func (s *Sealer) Seal(purpose string, plaintext []byte) string {
	ns := s.aead.NonceSize()
	out := make([]byte, ns, ns+len(plaintext)+s.aead.Overhead())
	rand.Read(out[:ns])
	out = s.aead.Seal(out, out[:ns], plaintext, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out)
}

// Open reverses Seal; any change to value, or another purpose, is ErrInvalid.
func (s *Sealer) Open(purpose, value string) ([]byte, error) {
	if len(value) > MaxCookie {
		return nil, ErrInvalid
	}
	// Strict: a value has one spelling, so no other string (unused low
	// bits in its last character) opens to the same thing.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < ns+s.aead.Overhead() {
		return nil, ErrInvalid
	}
	plain, err := s.aead.Open(nil, raw[:ns], raw[ns:], []byte(purpose))
	if err != nil {
		return nil, ErrInvalid
	}
	return plain, nil
}
