package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// identityBackend is an internal app that trusts Gatehouse the way a real
// one would: it reads the identity headers the connector injected and
// verifies the JWT assertion against the gateway's published JWKS.
type identityBackend struct {
	URL  string
	hits atomic.Int64
	jwks atomic.Pointer[map[string]*ecdsa.PublicKey] // by kid
	aud  string
}

// identitySeen is the backend's answer: what it was told about the user.
type identitySeen struct {
	User, Groups, Cookie, Forged string
	JWTSubject, JWTError         string
}

func newIdentityBackend(t testing.TB, audience string) *identityBackend {
	t.Helper()
	b := &identityBackend{aud: audience}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		s := identitySeen{User: r.Header.Get("X-Remote-User"), Groups: r.Header.Get("X-Remote-Groups"),
			Cookie: r.Header.Get("Cookie"), Forged: r.Header.Get("X-Forged")}
		if sub, err := b.verify(r.Header.Get("X-Gatehouse-Assertion")); err != nil {
			s.JWTError = err.Error()
		} else {
			s.JWTSubject = sub
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// loadJWKS fetches the gateway's JWKS through its public URL, as a
// backend would.
func (b *identityBackend) loadJWKS(t testing.TB, c *http.Client, url string) {
	t.Helper()
	r := get(t, c, url)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("JWKS: %d %s %q", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	var set struct {
		Keys []struct{ Kty, Crv, X, Y, Kid, Alg, Use string }
	}
	if err := json.Unmarshal([]byte(r.Body), &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS %q: %v", r.Body, err)
	}
	keys := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		y, _ := base64.RawURLEncoding.DecodeString(k.Y)
		if k.Kty != "EC" || k.Crv != "P-256" || k.Alg != "ES256" || len(x) != 32 || len(y) != 32 {
			t.Fatalf("JWKS key %+v is not an ES256 P-256 key", k)
		}
		keys[k.Kid] = &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	}
	b.jwks.Store(&keys)
}

// verify checks an ES256 compact JWS against the JWKS and its claims
// (issuer, audience, expiry), and returns its subject.
func (b *identityBackend) verify(token string) (string, error) {
	keys := b.jwks.Load()
	if token == "" || keys == nil {
		return "", errors.New("no assertion or no JWKS")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	var hdr struct{ Alg, Kid string }
	var claims struct {
		Iss, Aud, Sub string
		Exp           int64
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(h, &hdr) != nil || json.Unmarshal(p, &claims) != nil || len(sig) != 64 {
		return "", errors.New("malformed JWS")
	}
	key := (*keys)[hdr.Kid]
	if hdr.Alg != "ES256" || key == nil {
		return "", fmt.Errorf("alg %q kid %q not in the JWKS", hdr.Alg, hdr.Kid)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(key, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", errors.New("signature does not verify")
	}
	switch {
	case claims.Iss != "gatehouse":
		return "", fmt.Errorf("iss %q", claims.Iss)
	case claims.Aud != b.aud:
		return "", fmt.Errorf("aud %q, want %q", claims.Aud, b.aud)
	case time.Now().Unix() >= claims.Exp:
		return "", errors.New("expired")
	}
	return claims.Sub, nil
}
