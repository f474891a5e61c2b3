package sdk_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
)

// The JWKS carries the public half of each key under its kid: a signature
// made with the private key verifies against the published x and y.
func TestJWKSPublishesVerifiableKeys(t *testing.T) {
	k1, err := sdk.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := sdk.NewSigningKey()
	doc, err := sdk.JWKS(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kty, Crv, X, Y, Kid, Use, Alg string }
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0].Kid != k1.ID || set.Keys[1].Kid != k2.ID || k1.ID == k2.ID {
		t.Fatalf("JWKS %s does not list both keys by kid", doc)
	}
	j := set.Keys[0]
	if j.Kty != "EC" || j.Crv != "P-256" || j.Alg != "ES256" || j.Use != "sig" {
		t.Fatalf("key %+v", j)
	}
	// kid is the RFC 7638 thumbprint of the published key.
	sum := sha256.Sum256(fmt.Appendf(nil, `{"crv":"P-256","kty":"EC","x":%q,"y":%q}`, j.X, j.Y))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); j.Kid != want {
		t.Errorf("kid %s, thumbprint %s", j.Kid, want)
	}
	priv, err := k1.PrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("hello"))
	r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: b64int(t, j.X), Y: b64int(t, j.Y)}
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("a signature by the private key does not verify against the JWKS key")
	}
	if strings.Contains(fmt.Sprint(k1), "PRIVATE") || strings.Contains(string(doc), "PRIVATE") {
		t.Fatal("the private key leaks into a print or the JWKS")
	}
}

func b64int(t *testing.T, s string) *big.Int {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("coordinate %q: %v (%d bytes)", s, err, len(b))
	}
	return new(big.Int).SetBytes(b)
}

func TestSigningKeyRejectsOtherKeys(t *testing.T) {
	for _, k := range []sdk.SigningKey{{ID: "x", PEM: []byte("junk")}, {ID: "y"}} {
		if _, err := k.PrivateKey(); err == nil || !strings.Contains(err.Error(), k.ID) {
			t.Errorf("PrivateKey of %q: %v, want an error naming the key", k.ID, err)
		}
	}
}

func TestServeNeedsAConstructor(t *testing.T) {
	if err := sdk.Serve(sdk.Plugin{}); err == nil {
		t.Fatal("Serve with no constructor returned nil")
	}
}
