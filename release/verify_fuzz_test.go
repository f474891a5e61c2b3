package release

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"
)

// FuzzVerify feeds arbitrary manifests, signatures and endorsements to
// Verify: it must never panic, and whatever it accepts must be a manifest
// that validates and whose bytes the final key signed.
func FuzzVerify(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := seed.Public().(ed25519.PublicKey)
	r, err := Sign(seed, Manifest{Version: "v1.0.0", OS: "linux", Arch: "amd64", SHA256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", Size: 1})
	if err != nil {
		f.Fatal(err)
	}
	e := Endorse(seed, pub)
	f.Add(r.Manifest, r.Signature, []byte(nil))
	chain, _ := json.Marshal([]Endorsement{e})
	f.Add(r.Manifest, r.Signature, chain)
	f.Add([]byte(`{"version":"v1.0.0"}`), []byte{1, 2, 3}, []byte(`[{"new_key":"x"}]`))
	f.Fuzz(func(t *testing.T, manifest, sig, chainJSON []byte) {
		var chain []Endorsement
		_ = json.Unmarshal(chainJSON, &chain)
		m, err := Verify(pub, chain, Release{Manifest: manifest, Signature: sig})
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Verify accepted an invalid manifest: %v", err)
		}
		key, err := Trusted(pub, chain)
		if err != nil || !ed25519.Verify(key, manifest, sig) {
			t.Fatalf("Verify accepted a manifest the final key did not sign")
		}
	})
}
