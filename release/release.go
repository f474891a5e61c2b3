package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/mod/semver"
)

// Manifest describes one connector binary. Its exact JSON bytes are what a
// release key signs.
type Manifest struct {
	Version    string `json:"version"`               // semver with a leading v: "v1.4.0"
	OS         string `json:"os"`                    // runtime.GOOS
	Arch       string `json:"arch"`                  // runtime.GOARCH
	SHA256     string `json:"sha256"`                // lower-case hex SHA-256 of the binary
	Size       int64  `json:"size"`                  // bytes
	MinGateway string `json:"min_gateway,omitempty"` // the oldest gateway version it works with
}

// Release is a signed manifest: Manifest is the exact JSON bytes that were
// signed, Signature the Ed25519 signature over them. As JSON both are base64.
type Release struct {
	Manifest  []byte `json:"manifest"`
	Signature []byte `json:"signature"`
}

// MaxManifestSize bounds the manifest bytes Verify accepts.
const MaxManifestSize = 4096

// Validate checks the fields: a valid semver version (and min_gateway when
// set), a 64-hex-digit sha256, a non-empty OS and arch, a positive size.
func (m Manifest) Validate() error {
	if !fullSemver(m.Version) {
		return fmt.Errorf("release manifest: version %q is not a full semantic version with a leading v (like v1.4.0 or v1.4.0-rc.1; no +build suffix)", m.Version)
	}
	if m.MinGateway != "" && !semver.IsValid(m.MinGateway) {
		return fmt.Errorf("release manifest: min_gateway %q is not a semantic version with a leading v (like v1.4.0)", m.MinGateway)
	}
	if !goName(m.OS) || !goName(m.Arch) {
		return fmt.Errorf("release manifest: os and arch must be set, lower-case letters and digits like GOOS and GOARCH (got os %q, arch %q)", m.OS, m.Arch)
	}
	if len(m.SHA256) != 64 {
		return fmt.Errorf("release manifest: sha256 must be 64 hex digits, got %d characters", len(m.SHA256))
	}
	if _, err := hex.DecodeString(m.SHA256); err != nil {
		return fmt.Errorf("release manifest: sha256 is not hex: %v", err)
	}
	if m.Size <= 0 {
		return fmt.Errorf("release manifest: size must be positive, got %d", m.Size)
	}
	return nil
}

// Sign validates m, encodes it as JSON and signs the bytes.
func Sign(priv ed25519.PrivateKey, m Manifest) (Release, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Release{}, fmt.Errorf("release sign: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := m.Validate(); err != nil {
		return Release{}, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Release{}, fmt.Errorf("release sign: %v", err)
	}
	return Release{Manifest: b, Signature: ed25519.Sign(priv, b)}, nil
}

// ParseManifest decodes manifest bytes strictly (unknown fields, trailing
// data and invalid values are refused). It does not check any signature:
// use Verify for bytes that came from anywhere but your own Sign.
func ParseManifest(b []byte) (Manifest, error) {
	if len(b) > MaxManifestSize {
		return Manifest{}, fmt.Errorf("release manifest: %d bytes, more than the %d allowed", len(b), MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("release manifest: not valid manifest JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Manifest{}, fmt.Errorf("release manifest: trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Verify checks r against the trusted key and the rotation chain. The chain
// is applied oldest first: each endorsement must verify with the key trusted
// so far, and its new key becomes the trusted one; the release must then
// verify with the last key. It returns the decoded manifest; whether it fits
// this OS/arch and is newer than what runs is the caller's check.
func Verify(trusted ed25519.PublicKey, chain []Endorsement, r Release) (Manifest, error) {
	key, err := Trusted(trusted, chain)
	if err != nil {
		return Manifest{}, err
	}
	if len(r.Signature) != ed25519.SignatureSize {
		return Manifest{}, fmt.Errorf("release: signature has %d bytes, want %d", len(r.Signature), ed25519.SignatureSize)
	}
	if !ed25519.Verify(key, r.Manifest, r.Signature) {
		return Manifest{}, fmt.Errorf("release: signature does not verify with the trusted key %s (signed by another key, or the manifest was changed)", FormatPublicKey(key))
	}
	return ParseManifest(r.Manifest)
}

// CheckBinary checks that b is the binary the manifest describes: its size
// and its sha256.
func (m Manifest) CheckBinary(b []byte) error {
	if int64(len(b)) != m.Size {
		return fmt.Errorf("release %s: binary is %d bytes, the manifest says %d", m.Version, len(b), m.Size)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != m.SHA256 {
		return fmt.Errorf("release %s: binary sha256 is %s, the manifest says %s", m.Version, got, m.SHA256)
	}
	return nil
}

// Newer reports whether candidate is a newer version than running. A running
// version that is not valid semver (a "(devel)" build, "dev", "") counts as
// older than any release; a candidate that is not valid semver is never newer.
func Newer(candidate, running string) bool {
	if !semver.IsValid(candidate) {
		return false
	}
	if !semver.IsValid(running) {
		return true
	}
	return semver.Compare(candidate, running) > 0
}

// goName reports whether s looks like a GOOS or GOARCH value; they name
// store keys and directories, so nothing else is allowed.
func goName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// fullSemver accepts vMAJOR.MINOR.PATCH with an optional pre-release: the
// shorthands semver also takes ("v1", "v1.2") and build metadata would give
// one version several spellings, and so several store keys.
func fullSemver(v string) bool {
	return semver.IsValid(v) && semver.Canonical(v) == v
}
