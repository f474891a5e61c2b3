package browser

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// trustCA adds every certificate in pemCerts to a new NSS database at dbDir
// as a CA trusted for TLS servers ("C,,"). Chromium on Linux reads this
// database from $HOME/.pki/nssdb and trusts its CAs next to the public roots.
//
// Why NSS and not --ignore-certificate-errors-spki-list: the database is how
// an administrator makes Chromium trust a private CA, and Chromium then runs
// its full verification (chain, name, validity, key usage) against it. The
// SPKI list instead accepts one leaf key whatever is wrong with the rest, so
// a gateway serving a certificate for the wrong name, an expired one or a
// broken chain would still pass. Here such a server fails to load.
func trustCA(ctx context.Context, dbDir string, pemCerts []byte) error {
	var certs []*x509.Certificate
	rest := pemCerts
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return fmt.Errorf("browser options: ExtraCA: certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return fmt.Errorf("browser options: ExtraCA: no PEM CERTIFICATE block found")
	}
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		return fmt.Errorf("browser options: ExtraCA needs certutil (Debian libnss3-tools; run scripts/install-chromium.sh): %w", err)
	}
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return fmt.Errorf("creating the NSS database: %w", err)
	}
	db := "sql:" + dbDir
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, certutil, append([]string{"-d", db}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("certutil %v: %w: %s", args, err, bytes.TrimSpace(out.Bytes()))
		}
		return nil
	}
	if err := run("-N", "--empty-password"); err != nil {
		return fmt.Errorf("creating the NSS database: %w", err)
	}
	for i, c := range certs {
		if !c.IsCA {
			return fmt.Errorf("browser options: ExtraCA: certificate %d (%q) is not a CA certificate", i+1, c.Subject.CommonName)
		}
		f := filepath.Join(dbDir, fmt.Sprintf("ca-%d.pem", i))
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
			return fmt.Errorf("writing CA %d: %w", i+1, err)
		}
		nick := fmt.Sprintf("gatehouse-test-ca-%d %s", i+1, c.Subject.CommonName)
		if err := run("-A", "-t", "C,,", "-n", nick, "-i", f); err != nil {
			return fmt.Errorf("adding CA %q to the NSS database: %w", c.Subject.CommonName, err)
		}
	}
	return nil
}
