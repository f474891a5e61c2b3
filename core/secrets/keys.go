// Package secrets keeps the gateway's long-lived secrets in the store,
// created on first use and shared by every gateway node that uses the same
// store: the key that seals session and state cookies, the key that signs
// identity envelopes for connectors, and the key that sign-on plug-ins use
// to sign assertions for backends (published as JWKS).
package secrets

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/sdk"
)

// Set is the gateway's keys.
type Set struct {
	// Cookie seals session and sign-in state cookies (AES-256-GCM).
	Cookie []byte
	// Envelope signs identity envelopes; connectors pin its public half
	// at enrollment.
	Envelope ed25519.PrivateKey
	// Assertion is handed to sign-on plug-ins that sign JWTs for backends.
	Assertion sdk.SigningKey
}

// EnvelopePublic is the public key connectors pin.
func (s *Set) EnvelopePublic() ed25519.PublicKey { return s.Envelope.Public().(ed25519.PublicKey) }

// stored is the blob's JSON form.
type stored struct {
	Cookie       []byte         `json:"cookie"`
	EnvelopeSeed []byte         `json:"envelope_seed"`
	Assertion    sdk.SigningKey `json:"assertion"`
}

const (
	blobKey = "gatehouse/keys"
	lockKey = "gatehouse-keys"
)

// Load returns the keys in st, creating them the first time. Nodes that
// start together agree: creation happens under a store lock.
func Load(ctx context.Context, st store.Store, now func() time.Time) (*Set, error) {
	if s, err := get(ctx, st); !errors.Is(err, store.ErrNotFound) {
		return s, err
	}
	owner := rand.Text()
	for {
		ok, err := st.TryLock(ctx, lockKey, owner, now(), now().Add(30*time.Second))
		if err != nil {
			return nil, fmt.Errorf("creating the gateway keys: %w", err)
		}
		if ok {
			break
		}
		select { // another node is creating them
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer st.Unlock(context.WithoutCancel(ctx), lockKey, owner)
	if s, err := get(ctx, st); !errors.Is(err, store.ErrNotFound) {
		return s, err
	}
	v := stored{Cookie: make([]byte, 32), EnvelopeSeed: make([]byte, ed25519.SeedSize)}
	rand.Read(v.Cookie)
	rand.Read(v.EnvelopeSeed)
	var err error
	if v.Assertion, err = sdk.NewSigningKey(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := st.PutBlob(ctx, blobKey, b, now()); err != nil {
		return nil, fmt.Errorf("saving the gateway keys: %w", err)
	}
	return get(ctx, st)
}

func get(ctx context.Context, st store.Store) (*Set, error) {
	b, err := st.GetBlob(ctx, blobKey)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("loading the gateway keys: %w", err)
	}
	var v stored
	if err := json.Unmarshal(b.Value, &v); err != nil {
		return nil, fmt.Errorf("loading the gateway keys: store entry %s is damaged: %w", blobKey, err)
	}
	if len(v.Cookie) != 32 || len(v.EnvelopeSeed) != ed25519.SeedSize {
		return nil, fmt.Errorf("loading the gateway keys: store entry %s is damaged (key sizes)", blobKey)
	}
	if _, err := v.Assertion.PrivateKey(); err != nil {
		return nil, fmt.Errorf("loading the gateway keys: %w", err)
	}
	return &Set{Cookie: v.Cookie, Envelope: ed25519.NewKeyFromSeed(v.EnvelopeSeed), Assertion: v.Assertion}, nil
}
