package samlidp

// The IdP's signing key, kept in the store so every gateway node signs
// with the same one.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// Keys are one app's IdP signing key and certificate, and the secret that
// derives its persistent NameIDs.
type Keys struct {
	Key    *rsa.PrivateKey
	Cert   *x509.Certificate
	Secret []byte // 32 random bytes: HMAC key of persistent NameIDs
}

// Store is the part of the store the keys live in.
type Store interface {
	GetBlob(ctx context.Context, key string) (store.Blob, error)
	PutBlob(ctx context.Context, key string, value []byte, modified time.Time) error
	TryLock(ctx context.Context, name, owner string, now, expires time.Time) (bool, error)
}

// BlobKey is where app's keys are kept in the store.
func BlobKey(app string) string { return "samlidp/" + app + "/signing" }

// certLifetime is how long a created certificate is valid. SAML SPs trust
// the certificate in the metadata, not a CA; most ignore its dates.
const certLifetime = 10 * 365 * 24 * time.Hour

type storedKeys struct {
	Key    []byte `json:"key"`  // PKCS #8 DER
	Cert   []byte `json:"cert"` // DER
	Secret []byte `json:"secret"`
}

// LoadKeys returns app's keys from st, creating them on first use. Two
// nodes starting at once agree on one: the one that takes the store's lock
// creates them, the other waits for them. owner names this node.
func LoadKeys(ctx context.Context, st Store, app, owner string, now func() time.Time) (*Keys, error) {
	k, err := readKeys(ctx, st, app)
	if !errors.Is(err, store.ErrNotFound) {
		return k, err
	}
	for range 400 { // ~40 s: another node creates them, or its lock (30 s) expires
		t := now()
		ok, err := st.TryLock(ctx, BlobKey(app), owner, t, t.Add(30*time.Second))
		if err != nil {
			return nil, fmt.Errorf("saml_idp of app %q: locking the signing key in the store: %w", app, err)
		}
		if k, err = readKeys(ctx, st, app); !errors.Is(err, store.ErrNotFound) {
			return k, err
		}
		if ok {
			return createKeys(ctx, st, app, t)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("saml_idp of app %q: another gateway node held the lock on the signing key for 40 s without creating it; check the other nodes' logs and start again", app)
}

func readKeys(ctx context.Context, st Store, app string) (*Keys, error) {
	b, err := st.GetBlob(ctx, BlobKey(app))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("saml_idp of app %q: reading the signing key from the store: %w", app, err)
	}
	var s storedKeys
	if err := json.Unmarshal(b.Value, &s); err != nil {
		return nil, fmt.Errorf("saml_idp of app %q: the stored signing key (%s) is corrupt: %w", app, BlobKey(app), err)
	}
	key, err := x509.ParsePKCS8PrivateKey(s.Key)
	rk, isRSA := key.(*rsa.PrivateKey)
	if err != nil || !isRSA {
		return nil, fmt.Errorf("saml_idp of app %q: the stored signing key (%s) is not an RSA key: %v", app, BlobKey(app), err)
	}
	cert, err := x509.ParseCertificate(s.Cert)
	if err != nil || len(s.Secret) < 32 || !rk.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("saml_idp of app %q: the stored certificate or secret (%s) is corrupt or does not match the key", app, BlobKey(app))
	}
	return &Keys{Key: rk, Cert: cert, Secret: s.Secret}, nil
}

// createKeys makes an RSA-2048 key (what every SP accepts) with a
// self-signed certificate, and stores them.
func createKeys(ctx context.Context, st Store, app string, now time.Time) (*Keys, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Gatehouse SAML IdP " + app},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLifetime), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(storedKeys{Key: kder, Cert: der, Secret: secret})
	if err := st.PutBlob(ctx, BlobKey(app), b, now); err != nil {
		return nil, fmt.Errorf("saml_idp of app %q: storing the new signing key: %w", app, err)
	}
	return &Keys{Key: key, Cert: cert, Secret: secret}, nil
}

// CertPEM is the certificate in PEM, for operators.
func (k *Keys) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw})
}
