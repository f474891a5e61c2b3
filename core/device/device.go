// Package device verifies device certificates: client certificates that a
// device CA issued to managed laptops and phones, presented in the TLS
// handshake to hosts whose apps set access.require_device. A certificate
// passes when it chains to the configured CA, is meant for client
// authentication, is within its validity, and is not on the CA's
// certificate revocation list (CRL), which is read again when its file
// changes. Anything that cannot be checked refuses: an unreadable or
// expired CRL turns every device away until it is fixed.
package device

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Device is what a verified certificate says about the device.
type Device struct {
	Subject    string    // the subject DN, RFC 2253 ("CN=laptop-7,O=Example")
	CommonName string    // the subject's CN
	Serial     string    // lower-case hex, no leading zeros (as enrolled connectors' serials)
	SANs       []string  // subject alternative names: DNS names, e-mail addresses, URIs, IP addresses
	Issuer     string    // the issuer DN, RFC 2253
	NotAfter   time.Time // when the certificate expires
}

// Label is how the sign-in log and the logs name the device.
func (d *Device) Label() string {
	if d == nil {
		return ""
	}
	return d.Subject + " (serial " + d.Serial + ")"
}

// Describe is what certificate c says about a device, unverified (for
// gatehouse policy test on an app without require_device).
func Describe(c *x509.Certificate) *Device {
	d := &Device{Subject: c.Subject.String(), CommonName: c.Subject.CommonName, Serial: c.SerialNumber.Text(16),
		Issuer: c.Issuer.String(), NotAfter: c.NotAfter.UTC(), SANs: []string{}}
	d.SANs = append(d.SANs, c.DNSNames...)
	d.SANs = append(d.SANs, c.EmailAddresses...)
	for _, u := range c.URIs {
		d.SANs = append(d.SANs, u.String())
	}
	for _, ip := range c.IPAddresses {
		d.SANs = append(d.SANs, net.IP.String(ip))
	}
	return d
}

// The reasons Verify refuses a certificate; each error Verify returns
// wraps one of them.
var (
	ErrNoCertificate = errors.New("no client certificate was presented")
	ErrUntrusted     = errors.New("the certificate is not from the device CA")
	ErrExpired       = errors.New("the certificate is expired or not yet valid")
	ErrUsage         = errors.New("the certificate is not for client authentication")
	ErrRevoked       = errors.New("the certificate is revoked")
	ErrCRL           = errors.New("the revocation list cannot be used")
)

// Options configure a Verifier.
type Options struct {
	CAFile  string // PEM: the device CA (or CAs)
	CRLFile string // PEM or DER: their revocation lists; "" for none
	// CheckEvery is how often Verify looks at the CRL file for a change
	// (default 1s).
	CheckEvery time.Duration
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger     // default slog.Default()
}

// Verifier checks device certificates against one CA file and CRL file.
// It is safe for concurrent use.
type Verifier struct {
	o    Options
	cas  []*x509.Certificate
	pool *x509.CertPool

	mu       sync.Mutex
	lists    []*crl    // the CRLs in force, each signed by a CA of cas
	crlErr   error     // why the CRL file cannot be used; nil when it can
	loaded   fileStamp // the CRL file as last read
	readAt   time.Time // when, by the wall clock (file times are wall-clock times)
	lastStat time.Time
	gen      uint64               // counts changes of lists and crlErr: a cached verdict of another gen is stale
	cache    map[[32]byte]verdict // chains verified lately (cache.go)
}

// New reads the CA file and the CRL file. A CRL that does not parse, or
// that no CA of the CA file signed, is an error.
func New(o Options) (*Verifier, error) {
	if o.CheckEvery <= 0 {
		o.CheckEvery = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	data, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	cas, err := ParseCAs(data)
	if err != nil {
		return nil, fmt.Errorf("ca_file %s: %w", o.CAFile, err)
	}
	v := &Verifier{o: o, cas: cas, pool: x509.NewCertPool()}
	for _, c := range cas {
		v.pool.AddCert(c)
	}
	if o.CRLFile != "" {
		stamp, lists, err := v.readCRL()
		if err != nil {
			return nil, fmt.Errorf("crl_file %s: %w", o.CRLFile, err)
		}
		v.lists, v.loaded, v.lastStat, v.readAt = lists, stamp, o.Now(), time.Now()
	}
	return v, nil
}

// ParseCAs reads PEM CA certificates: at least one, each a CA.
func ParseCAs(data []byte) ([]*x509.Certificate, error) {
	var cas []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("holds a %q PEM block; it must hold only the device CA's certificates", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate #%d does not parse: %w", len(cas)+1, err)
		}
		if !c.IsCA {
			return nil, fmt.Errorf("certificate #%d (%s) is not a CA certificate", len(cas)+1, c.Subject)
		}
		cas = append(cas, c)
	}
	if len(cas) == 0 {
		return nil, errors.New(`holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----" blocks)`)
	}
	return cas, nil
}

// Pool is the device CAs, for the TLS handshake's list of acceptable
// issuers (a browser offers only certificates they issued).
func (v *Verifier) Pool() *x509.CertPool { return v.pool }

// Verify checks the certificates a client presented (leaf first) and
// returns the device; the error wraps one of the Err values.
func (v *Verifier) Verify(chain []*x509.Certificate) (*Device, error) {
	if len(chain) == 0 {
		return nil, ErrNoCertificate
	}
	now := v.o.Now()
	key := chainKey(chain)
	if d, ok := v.cached(key, now); ok {
		return d, nil
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: v.pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, classify(leaf, err)
	}
	next, gen, err := v.checkRevoked(leaf, chains, now)
	if err != nil {
		return nil, err
	}
	d := Describe(leaf)
	v.remember(key, d, chains[0], next, gen)
	return d, nil
}

func classify(leaf *x509.Certificate, err error) error {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		switch inv.Reason {
		case x509.Expired:
			return fmt.Errorf("%w (valid %s to %s)", ErrExpired, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
		case x509.IncompatibleUsage:
			return fmt.Errorf("%w (its extended key usage lacks clientAuth)", ErrUsage)
		}
	}
	return fmt.Errorf("%w (issuer %s: %v)", ErrUntrusted, leaf.Issuer, err)
}

// checkRevoked looks the leaf up in the CRL of its issuer, read again
// first if the file changed. It returns the CRL's next update (zero
// without one) and the generation of the CRL state it used.
func (v *Verifier) checkRevoked(leaf *x509.Certificate, chains [][]*x509.Certificate, now time.Time) (time.Time, uint64, error) {
	if v.o.CRLFile == "" {
		return time.Time{}, 0, nil
	}
	v.mu.Lock()
	v.refresh(now)
	lists, crlErr, gen := v.lists, v.crlErr, v.gen
	v.mu.Unlock()
	if crlErr != nil {
		return time.Time{}, gen, fmt.Errorf("%w: %v", ErrCRL, crlErr)
	}
	var issuer *x509.Certificate
	if len(chains) > 0 && len(chains[0]) > 1 {
		issuer = chains[0][1]
	}
	for _, l := range lists {
		if issuer == nil || !l.signer.Equal(issuer) {
			continue
		}
		if !l.NextUpdate.IsZero() && now.After(l.NextUpdate) {
			return time.Time{}, gen, fmt.Errorf("%w: the revocation list of %s expired at %s; publish a new one", ErrCRL, l.Issuer, l.NextUpdate.UTC().Format(time.RFC3339))
		}
		if at, ok := l.revoked[leaf.SerialNumber.Text(16)]; ok {
			return time.Time{}, gen, fmt.Errorf("%w (serial %s, on %s)", ErrRevoked, leaf.SerialNumber.Text(16), at.UTC().Format(time.RFC3339))
		}
		return l.NextUpdate, gen, nil
	}
	return time.Time{}, gen, fmt.Errorf("%w: crl_file holds no revocation list signed by %s, which issued the certificate", ErrCRL, leaf.Issuer)
}

// Check refreshes the CRL and reports whether it can be used now (for
// the gateway's start and reload: a CRL that expired is logged at once).
func (v *Verifier) Check(now time.Time) error {
	if v.o.CRLFile == "" {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.refresh(now)
	if v.crlErr != nil {
		return v.crlErr
	}
	for _, l := range v.lists {
		if !l.NextUpdate.IsZero() && now.After(l.NextUpdate) {
			return fmt.Errorf("the revocation list of %s expired at %s; publish a new one", l.Issuer, l.NextUpdate.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

type ctxKey struct{}

// NewContext returns ctx carrying the verified device d.
func NewContext(ctx context.Context, d *Device) context.Context {
	return context.WithValue(ctx, ctxKey{}, d)
}

// FromContext returns the verified device of the request, or nil.
func FromContext(ctx context.Context) *Device {
	d, _ := ctx.Value(ctxKey{}).(*Device)
	return d
}
