package oidc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The key set is fetched once for many tokens signed with keys it lacks,
// fetched again for a rotated key once refetchAfter has passed, and a
// provider that is down is an error (recorded as such), not a refusal.
func TestKeySetRefetchesAtMostOncePerInterval(t *testing.T) {
	signer, stranger, rotated := rsaKey(t), rsaKey(t), rsaKey(t)
	var mu sync.Mutex
	published := []*rsa.PrivateKey{signer}
	var fetches atomic.Int64
	down := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		var keys []map[string]string
		for i, k := range published {
			keys = append(keys, map[string]string{"kty": "RSA", "use": "sig", "kid": string(rune('a' + i)),
				"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	defer srv.Close()
	now := time.Now()
	ks := &keySet{url: srv.URL, client: srv.Client(), timeout: 5 * time.Second, now: func() time.Time { return now }}
	ctx := context.Background()

	if _, err := ks.VerifySignature(ctx, jwtSignedBy(t, signer)); err != nil {
		t.Fatalf("a token of the provider's key: %v", err)
	}
	for range 20 {
		var ff fetchFailure
		if _, err := ks.VerifySignature(context.WithValue(ctx, fetchFailureKey{}, &ff), jwtSignedBy(t, stranger)); err == nil || ff.err != nil {
			t.Fatalf("a token of another key: %v (fetch failure %v), want a refusal", err, ff.err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("the key set was fetched %d times for 21 tokens within %v, want 1", n, refetchAfter)
	}

	mu.Lock()
	published = append(published, rotated)
	mu.Unlock()
	if _, err := ks.VerifySignature(ctx, jwtSignedBy(t, rotated)); err == nil {
		t.Fatal("a rotated key was taken before refetchAfter: the key set was fetched again too soon")
	}
	now = now.Add(refetchAfter)
	if _, err := ks.VerifySignature(ctx, jwtSignedBy(t, rotated)); err != nil {
		t.Fatalf("a rotated key after refetchAfter: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	down.Store(true)
	now = now.Add(refetchAfter)
	var ff fetchFailure
	_, err := ks.VerifySignature(context.WithValue(ctx, fetchFailureKey{}, &ff), jwtSignedBy(t, stranger))
	if err == nil || ff.err == nil {
		t.Fatalf("provider down: %v, fetch failure %v; want the fetch failure recorded", err, ff.err)
	}
	if _, err := ks.VerifySignature(ctx, jwtSignedBy(t, signer)); err != nil {
		t.Fatalf("keys already held still verify while the provider is down: %v", err)
	}
	fresh := &keySet{url: srv.URL, client: srv.Client(), timeout: 5 * time.Second, now: func() time.Time { return now }}
	for range 3 {
		var ff fetchFailure
		if _, err := fresh.VerifySignature(context.WithValue(ctx, fetchFailureKey{}, &ff), jwtSignedBy(t, signer)); !errors.Is(ff.err, err) || err == nil {
			t.Fatalf("no keys yet, provider down: %v (fetch failure %v)", err, ff.err)
		}
	}
	if n := fetches.Load(); n != 4 {
		t.Fatalf("%d fetches, want 4: a key set that could not be fetched is not asked for again at once", n)
	}
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwtSignedBy is an RS256 JWT signed with key.
func jwtSignedBy(t testing.TB, key *rsa.PrivateKey) string {
	t.Helper()
	input := b64([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"x"}`))
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}
