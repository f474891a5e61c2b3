package pki

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/atomicfile"
)

// DevIssuer serves the public listener in development ("tls.mode:
// self-signed"): a local CA, kept in a directory so that a browser or curl
// told to trust it once keeps trusting it, issues a certificate for each
// name a client asks for (by SNI; "localhost" when it sends none).
// Never use it in production: anyone holding the directory can mint
// certificates that the trusting machine accepts.
type DevIssuer struct {
	ca     *CA
	caFile string

	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

// OpenDevIssuer loads the development CA from dir (dev-ca.pem and
// dev-ca-key.pem), creating it on first use.
func OpenDevIssuer(dir string, now time.Time) (*DevIssuer, error) {
	certFile := filepath.Join(dir, "dev-ca.pem")
	keyFile := filepath.Join(dir, "dev-ca-key.pem")
	certPEM, err1 := os.ReadFile(certFile)
	keyPEM, err2 := os.ReadFile(keyFile)
	var ca *CA
	switch {
	case err1 == nil && err2 == nil:
		if ca, err1 = ParseCA(certPEM, keyPEM); err1 != nil {
			return nil, fmt.Errorf("pki: development CA in %s: %w (delete both files to create a new one)", dir, err1)
		}
	case errors.Is(err1, fs.ErrNotExist) && errors.Is(err2, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("pki: creating %s: %w", dir, err)
		}
		if ca, certPEM, keyPEM, err1 = NewCA("Gatehouse development CA", now); err1 != nil {
			return nil, err1
		}
		if err := atomicfile.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			return nil, fmt.Errorf("pki: writing development CA key: %w", err)
		}
		if err := atomicfile.WriteFile(certFile, certPEM, 0o644); err != nil {
			return nil, fmt.Errorf("pki: writing development CA: %w", err)
		}
	default:
		return nil, fmt.Errorf("pki: development CA in %s is incomplete (%v, %v): delete both files to create a new one", dir, err1, err2)
	}
	return &DevIssuer{ca: ca, caFile: certFile, certs: map[string]*tls.Certificate{}}, nil
}

// CAFile is the PEM file clients must trust (curl --cacert).
func (d *DevIssuer) CAFile() string { return d.caFile }

// GetCertificate implements tls.Config.GetCertificate.
func (d *DevIssuer) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := hello.ServerName
	if name == "" {
		name = "localhost"
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.certs[name]; ok && time.Until(c.Leaf.NotAfter) > time.Hour {
		return c, nil
	}
	if len(d.certs) > 1000 { // names come from clients: bound the cache
		clear(d.certs)
	}
	c, err := d.ca.IssueServer([]string{name}, 30*24*time.Hour, time.Now())
	if err != nil {
		return nil, err
	}
	d.certs[name] = &c
	return &c, nil
}
