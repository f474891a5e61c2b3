package tunnel

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// An Envelope is the identity the gateway established for a request,
// signed by the gateway so that a connector can check it came from there
// before any Injector sees it. The gateway signs one per session (not per
// request); it travels in the RequestHeader.
type Envelope struct {
	// App is the app the identity was established for: an envelope is
	// refused for any other app.
	App string `json:"app"`
	// Session identifies the sign-in the envelope belongs to.
	Session string `json:"sid,omitempty"`
	// IssuedAt and Expires bound the envelope's validity.
	IssuedAt time.Time `json:"iat"`
	Expires  time.Time `json:"exp"`
	// Identity is the signed-in user.
	Identity sdk.Identity `json:"identity"`
}

// Envelope wire form: a version byte, the JSON payload, then the Ed25519
// signature (64 bytes) over envelopeContext followed by the payload.
const (
	envelopeV1      = 1
	envelopeContext = "gatehouse identity envelope v1\x00"
	// MaxEnvelope bounds a signed envelope (a user with hundreds of groups fits).
	MaxEnvelope = 32 << 10
)

// Envelope errors a connector reports.
var (
	ErrEnvelopeSignature = errors.New("identity envelope: signature does not verify with the gateway key pinned at enrollment")
	ErrEnvelopeExpired   = errors.New("identity envelope: expired")
	ErrEnvelopeApp       = errors.New("identity envelope: issued for another app")
)

// SignEnvelope encodes e and signs it with key.
func SignEnvelope(key ed25519.PrivateKey, e Envelope) ([]byte, error) {
	if e.App == "" || e.Identity.Subject == "" || e.Expires.IsZero() {
		return nil, errors.New("identity envelope: app, identity subject and expiry are required")
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("identity envelope: %w", err)
	}
	if 1+len(payload)+ed25519.SignatureSize > MaxEnvelope {
		return nil, fmt.Errorf("identity envelope: %d-byte identity is larger than the %d-byte limit (too many groups or claims?)", len(payload), MaxEnvelope)
	}
	out := make([]byte, 0, 1+len(payload)+ed25519.SignatureSize)
	out = append(out, envelopeV1)
	out = append(out, payload...)
	return append(out, ed25519.Sign(key, signedBytes(payload))...), nil
}

// OpenEnvelope verifies b with the gateway's public key and checks that it
// is for app and not expired at now.
func OpenEnvelope(pub ed25519.PublicKey, b []byte, app string, now time.Time) (Envelope, error) {
	e, err := VerifyEnvelope(pub, b)
	if err != nil {
		return Envelope{}, err
	}
	return e, e.Check(app, now)
}

// VerifyEnvelope checks b's signature and decodes it, without looking at
// the app or the time (a cache of verified envelopes calls Check on each use).
func VerifyEnvelope(pub ed25519.PublicKey, b []byte) (Envelope, error) {
	if len(b) < 1+ed25519.SignatureSize || len(b) > MaxEnvelope {
		return Envelope{}, fmt.Errorf("identity envelope: %d bytes is not a signed envelope", len(b))
	}
	if b[0] != envelopeV1 {
		return Envelope{}, fmt.Errorf("identity envelope: version %d is not supported (want %d)", b[0], envelopeV1)
	}
	payload, sig := b[1:len(b)-ed25519.SignatureSize], b[len(b)-ed25519.SignatureSize:]
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, signedBytes(payload), sig) {
		return Envelope{}, ErrEnvelopeSignature
	}
	var e Envelope
	if err := json.Unmarshal(payload, &e); err != nil {
		return Envelope{}, fmt.Errorf("identity envelope: signed but malformed: %w", err)
	}
	return e, nil
}

// Check reports whether a verified envelope may be used for app at now.
func (e Envelope) Check(app string, now time.Time) error {
	if e.App != app {
		return fmt.Errorf("%w (%q, not %q)", ErrEnvelopeApp, e.App, app)
	}
	if !now.Before(e.Expires) {
		return fmt.Errorf("%w at %s", ErrEnvelopeExpired, e.Expires.UTC().Format(time.RFC3339))
	}
	if e.Identity.Subject == "" {
		return errors.New("identity envelope: no subject")
	}
	return nil
}

func signedBytes(payload []byte) []byte {
	return append([]byte(envelopeContext), payload...)
}

// ReadEnvelope decodes an envelope without checking its signature: for the
// gateway that signed it, never for a receiver.
func ReadEnvelope(b []byte) (Envelope, error) {
	if len(b) < 1+ed25519.SignatureSize || b[0] != envelopeV1 {
		return Envelope{}, errors.New("identity envelope: malformed")
	}
	var e Envelope
	if err := json.Unmarshal(b[1:len(b)-ed25519.SignatureSize], &e); err != nil {
		return Envelope{}, fmt.Errorf("identity envelope: %w", err)
	}
	return e, nil
}
