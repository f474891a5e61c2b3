package release

import (
	"crypto/ed25519"
	"fmt"
)

// Endorsement rotates the release key: NewKey (written as FormatPublicKey
// does) signed by the key before it.
type Endorsement struct {
	NewKey    string `json:"new_key"`
	Signature []byte `json:"signature"`
}

// endorseContext is prefixed to the signed bytes so that an endorsement can
// never be mistaken for a manifest signature, or the other way round.
const endorseContext = "gatehouse-release-endorsement\n"

func endorsedBytes(newKey string) []byte {
	return []byte(endorseContext + newKey)
}

// Endorse signs newKey with the old private key.
func Endorse(old ed25519.PrivateKey, newKey ed25519.PublicKey) Endorsement {
	s := FormatPublicKey(newKey)
	return Endorsement{NewKey: s, Signature: ed25519.Sign(old, endorsedBytes(s))}
}

// Trusted applies the chain to the trusted key, oldest first, and returns
// the key that releases must now be signed with. Each endorsement must
// verify with the key trusted before it.
func Trusted(trusted ed25519.PublicKey, chain []Endorsement) (ed25519.PublicKey, error) {
	if len(trusted) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("release: no trusted release key (give the connector one at enrollment or with --release-key)")
	}
	key := trusted
	for i, e := range chain {
		next, err := ParsePublicKey(e.NewKey)
		if err != nil {
			return nil, fmt.Errorf("release key endorsement %d: %v", i+1, err)
		}
		if len(e.Signature) != ed25519.SignatureSize || !ed25519.Verify(key, endorsedBytes(e.NewKey), e.Signature) {
			return nil, fmt.Errorf("release key endorsement %d: its signature does not verify with the key trusted before it (%s); the chain is broken or out of order", i+1, FormatPublicKey(key))
		}
		key = next
	}
	return key, nil
}
