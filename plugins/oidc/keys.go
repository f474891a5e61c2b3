package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// refetchAfter is how soon after one fetch of the provider's key set a
// token that none of its keys verifies may make the plug-in fetch it again.
// go-oidc's RemoteKeySet fetches again for every such token: anyone could
// then make the gateway ask the provider once per request, with made-up
// key ids, until the provider slows down or shuts the gateway out.
const refetchAfter = 10 * time.Second

// maxKeySet bounds the provider's key set document.
const maxKeySet = 1 << 20

// keySet is the provider's key set, fetched from its jwks_uri on first
// use, and again (key rotation) when a token is signed with a key it does
// not hold, at most once per refetchAfter. It is safe for concurrent use.
type keySet struct {
	url     string
	client  *http.Client
	timeout time.Duration
	now     func() time.Time
	flight  singleflight.Group

	mu      sync.Mutex
	keys    *oidc.StaticKeySet // nil until a fetch succeeded
	fetched time.Time          // when the last fetch ended, successful or not
	err     error              // why the last fetch failed; nil if it did not
}

var _ oidc.KeySet = (*keySet)(nil)

// errNoKey is a token that none of the provider's keys verifies.
var errNoKey = errors.New("no key of the provider's key set verifies it")

// VerifySignature checks jwt against the provider's keys. A token no key
// verifies is a plain error; keys that could not be fetched are recorded in
// ctx's fetchFailure (see verify).
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	k.mu.Lock()
	keys, fetched, lastErr := k.keys, k.fetched, k.err
	k.mu.Unlock()
	if keys != nil {
		if payload, err := keys.VerifySignature(ctx, jwt); err == nil {
			return payload, nil
		}
	}
	if !fetched.IsZero() && k.now().Sub(fetched) < refetchAfter {
		if keys == nil {
			return nil, k.fetchFailed(ctx, lastErr)
		}
		return nil, errNoKey
	}
	ch := k.flight.DoChan("keys", func() (any, error) { return k.fetch() })
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, k.fetchFailed(ctx, r.Err)
		}
		payload, err := r.Val.(*oidc.StaticKeySet).VerifySignature(ctx, jwt)
		if err != nil {
			return nil, errNoKey
		}
		return payload, nil
	}
}

// fetchFailed records err in ctx's fetchFailure and returns it.
func (k *keySet) fetchFailed(ctx context.Context, err error) error {
	err = fmt.Errorf("fetching the key set %s: %w", k.url, err)
	if f, ok := ctx.Value(fetchFailureKey{}).(*fetchFailure); ok {
		f.err = err
	}
	return err
}

// fetch gets the key set, bounded by the discovery timeout whoever asked
// (a caller that gives up does not cancel it for the others), and keeps
// the outcome.
func (k *keySet) fetch() (*oidc.StaticKeySet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	keys, err := k.get(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fetched, k.err = k.now(), err
	if err != nil {
		return nil, err
	}
	k.keys = keys
	return keys, nil
}

func (k *keySet) get(ctx context.Context) (*oidc.StaticKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the provider answered %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxKeySet)).Decode(&set); err != nil {
		return nil, fmt.Errorf("decoding it: %w", err)
	}
	var pubs []crypto.PublicKey
	for _, key := range set.Keys {
		if key.Use != "" && key.Use != "sig" {
			continue // an encryption key signs nothing
		}
		if !key.IsPublic() {
			key = key.Public()
		}
		switch key.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey: // what oidc.StaticKeySet takes
			pubs = append(pubs, key.Key)
		}
	}
	if len(pubs) == 0 {
		return nil, errors.New("it holds no signing key")
	}
	return &oidc.StaticKeySet{PublicKeys: pubs}, nil
}
