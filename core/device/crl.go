package device

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// crl is one revocation list, with the CA that signed it and its
// revoked serials (hex) for lookups.
type crl struct {
	*x509.RevocationList
	signer  *x509.Certificate
	revoked map[string]time.Time
}

// fileStamp is what says a file changed: its modification time and size
// and, for a file modified around when it was read (file systems keep
// coarse times), a digest of its content.
type fileStamp struct {
	mod  time.Time
	size int64
	sum  [32]byte
}

// racy reports whether a file with modification time mod may have
// changed unseen since it was read at read: the same time stamp can
// cover two writes.
func racy(mod, read time.Time) bool { return !mod.Before(read.Add(-2 * time.Second)) }

// refresh reads the CRL file again when it changed, at most once per
// CheckEvery; v.mu is held.
func (v *Verifier) refresh(now time.Time) {
	if now.Sub(v.lastStat) < v.o.CheckEvery && !now.Before(v.lastStat) {
		return
	}
	v.lastStat = now
	fi, err := os.Stat(v.o.CRLFile)
	if err == nil && v.crlErr == nil && fi.ModTime().Equal(v.loaded.mod) && fi.Size() == v.loaded.size && !racy(fi.ModTime(), v.readAt) {
		return
	}
	stamp, lists, err := v.readCRL()
	if err != nil {
		if v.crlErr == nil || v.crlErr.Error() != err.Error() {
			v.o.Logger.Error("device certificates: the revocation list cannot be used; refusing every device until it can",
				"crl_file", v.o.CRLFile, "error", err)
		}
		v.crlErr = err
		v.gen++
		return
	}
	v.readAt = time.Now()
	if stamp == v.loaded && v.crlErr == nil {
		return
	}
	n := 0
	for _, l := range lists {
		n += len(l.RevokedCertificateEntries)
	}
	v.o.Logger.Info("device certificates: revocation list loaded", "crl_file", v.o.CRLFile, "revoked", n)
	v.lists, v.loaded, v.crlErr = lists, stamp, nil
	v.gen++
}

// readCRL reads and checks every CRL of the file.
func (v *Verifier) readCRL() (fileStamp, []*crl, error) {
	f, err := os.Open(v.o.CRLFile)
	if err != nil {
		return fileStamp{}, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileStamp{}, nil, err
	}
	data, err := readAll(f, fi.Size())
	if err != nil {
		return fileStamp{}, nil, err
	}
	lists, err := v.parseCRLs(data)
	return fileStamp{fi.ModTime(), fi.Size(), sha256.Sum256(data)}, lists, err
}

func readAll(f *os.File, size int64) ([]byte, error) {
	const max = 64 << 20
	if size > max {
		return nil, fmt.Errorf("the file is %d bytes, more than the %d a revocation list may have", size, max)
	}
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && n != len(buf) {
		return nil, err
	}
	return buf[:n], nil
}

// ParseCRLs parses PEM ("X509 CRL" blocks) or one DER CRL, each signed
// by one of the verifier's CAs.
func (v *Verifier) ParseCRLs(data []byte) ([]*x509.RevocationList, error) {
	lists, err := v.parseCRLs(data)
	out := make([]*x509.RevocationList, len(lists))
	for i, l := range lists {
		out[i] = l.RevocationList
	}
	return out, err
}

func (v *Verifier) parseCRLs(data []byte) ([]*crl, error) {
	var ders [][]byte
	if strings.Contains(string(data[:min(len(data), 4096)]), "-----BEGIN") {
		for rest := data; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type != "X509 CRL" {
				return nil, fmt.Errorf("holds a %q PEM block; it must hold only X509 CRL blocks", b.Type)
			}
			ders = append(ders, b.Bytes)
		}
	} else if len(data) > 0 {
		ders = append(ders, data)
	}
	if len(ders) == 0 {
		return nil, errors.New("holds no revocation list")
	}
	var out []*crl
	for i, der := range ders {
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("revocation list #%d does not parse: %w", i+1, err)
		}
		j := slices.IndexFunc(v.cas, func(c *x509.Certificate) bool { return l.CheckSignatureFrom(c) == nil })
		if j < 0 {
			return nil, fmt.Errorf("revocation list #%d (issuer %s) is not signed by a CA of ca_file", i+1, l.Issuer)
		}
		c := &crl{RevocationList: l, signer: v.cas[j], revoked: make(map[string]time.Time, len(l.RevokedCertificateEntries))}
		for _, e := range l.RevokedCertificateEntries {
			c.revoked[e.SerialNumber.Text(16)] = e.RevocationTime
		}
		out = append(out, c)
	}
	return out, nil
}
