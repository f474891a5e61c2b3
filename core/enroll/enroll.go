// Package enroll turns one-time tokens into connector identities. An
// operator creates a token for a connector group; the token pins the
// gateway CA. A new connector presents the token with a CSR once and gets a
// client certificate naming its connector id; from then on it
// authenticates with mutual TLS only.
package enroll

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/pki"
	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/tunnel"
)

// CertValidity is how long a connector certificate is valid.
const CertValidity = 365 * 24 * time.Hour

// LoadOrCreateCA returns the gateway's connector CA, creating it in the
// store on first use. Two nodes racing at first start agree on one CA.
func LoadOrCreateCA(ctx context.Context, st store.Store, now time.Time) (*pki.CA, error) {
	for range 2 {
		c, err := st.LoadCA(ctx)
		if err == nil {
			return pki.ParseCA(c.CertPEM, c.KeyPEM)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("loading connector CA: %w", err)
		}
		ca, certPEM, keyPEM, err := pki.NewCA("Gatehouse connector CA", now)
		if err != nil {
			return nil, err
		}
		err = st.SaveCA(ctx, store.CA{CertPEM: certPEM, KeyPEM: keyPEM})
		if err == nil {
			return ca, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("saving connector CA: %w", err)
		}
	}
	return nil, errors.New("connector CA: store keeps reporting it both missing and present")
}

// CreateToken stores a new one-time token for group, valid for ttl, and
// returns it encoded for the operator. releaseKey (config release.public_key,
// "" for none) goes into the token: the key the connector trusts for updates.
func CreateToken(ctx context.Context, st store.Store, ca *pki.CA, group string, ttl time.Duration, addrs []string, releaseKey string, now time.Time) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("token lifetime must be positive, got %s", ttl)
	}
	id, secret := randomHex(8), randomHex(24)
	hash := sha256.Sum256([]byte(secret))
	err := st.CreateToken(ctx, store.Token{
		ID: id, SecretHash: hash[:], Group: group,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		return "", fmt.Errorf("creating token: %w", err)
	}
	return tunnel.Token{ID: id, Secret: secret, CAPin: tunnel.Fingerprint(ca.Cert), Addrs: addrs, ReleaseKey: releaseKey}.Encode(), nil
}

// Authority redeems enrollment requests on the tunnel port.
type Authority struct {
	Store store.Store
	CA    *pki.CA
	Now   func() time.Time
	// GroupExists reports whether a group is still configured.
	GroupExists func(string) bool
	// EnvelopeKey is the public key of the gateway's identity envelopes,
	// handed to the connector to pin.
	EnvelopeKey []byte
}

// Refusal is an enrollment refused for a reason the connector's operator
// should read; other errors are internal.
type Refusal struct{ Msg string }

func (r *Refusal) Error() string { return r.Msg }

var errUnknown = &Refusal{"enrollment token not recognised (mistyped, forged, or for another gateway): create a new one with 'gatehouse token create --group NAME'"}

// Enroll checks the token, burns it and signs the CSR.
func (a *Authority) Enroll(ctx context.Context, req tunnel.EnrollRequest, remoteAddr string) (tunnel.EnrollResponse, error) {
	now := a.Now()
	tok, err := a.Store.GetToken(ctx, req.TokenID)
	if errors.Is(err, store.ErrNotFound) {
		return tunnel.EnrollResponse{}, errUnknown
	}
	if err != nil {
		return tunnel.EnrollResponse{}, fmt.Errorf("looking up token: %w", err)
	}
	hash := sha256.Sum256([]byte(req.Secret))
	if subtle.ConstantTimeCompare(hash[:], tok.SecretHash) != 1 {
		return tunnel.EnrollResponse{}, errUnknown
	}
	if !tok.UsedAt.IsZero() {
		return tunnel.EnrollResponse{}, &Refusal{fmt.Sprintf("enrollment token was already used at %s (tokens are one-time): create a new one with 'gatehouse token create --group %s'", tok.UsedAt.UTC().Format(time.RFC3339), tok.Group)}
	}
	if !now.Before(tok.ExpiresAt) {
		return tunnel.EnrollResponse{}, &Refusal{fmt.Sprintf("enrollment token expired at %s: create a new one with 'gatehouse token create --group %s'", tok.ExpiresAt.UTC().Format(time.RFC3339), tok.Group)}
	}
	if a.GroupExists != nil && !a.GroupExists(tok.Group) {
		return tunnel.EnrollResponse{}, &Refusal{fmt.Sprintf("connector group %q is no longer in the gateway config", tok.Group)}
	}
	// Sign first: a refused CSR leaves the token usable for a retry. The
	// certificate is only handed out if this caller burns the token.
	id := "c-" + randomHex(8)
	cert, err := a.CA.SignClient(req.CSR, id, CertValidity, now)
	if err != nil {
		return tunnel.EnrollResponse{}, &Refusal{fmt.Sprintf("certificate request refused (the token is still valid): %v", err)}
	}
	if err := a.Store.UseToken(ctx, tok.ID, now); err != nil {
		if errors.Is(err, store.ErrUsed) {
			return tunnel.EnrollResponse{}, &Refusal{"enrollment token was already used (tokens are one-time): create a new one"}
		}
		return tunnel.EnrollResponse{}, fmt.Errorf("burning token: %w", err)
	}
	err = a.Store.AddConnector(ctx, store.Connector{
		ID: id, Group: tok.Group, Hostname: clean(req.Hostname, 253), Version: clean(req.Version, 64),
		Addr: remoteAddr, CertSerial: cert.SerialNumber.Text(16), CreatedAt: now, LastSeen: now,
	})
	if err != nil {
		return tunnel.EnrollResponse{}, fmt.Errorf("registering connector: %w", err)
	}
	return tunnel.EnrollResponse{
		ConnectorID: id, Group: tok.Group,
		CertPEM: pki.CertPEM(cert.Raw), CAPEM: pki.CertPEM(a.CA.Cert.Raw),
		EnvelopeKey: a.EnvelopeKey,
	}, nil
}

// clean keeps a peer-supplied label printable and short.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max]
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on Linux (crypto/rand panics otherwise)
	return hex.EncodeToString(b)
}
