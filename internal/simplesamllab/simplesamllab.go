// Package simplesamllab is what the SimpleSAMLphp test labs share:
// plugins/saml/idplab (SimpleSAMLphp as an IdP) and core/samlidp/splab
// (SimpleSAMLphp as a service provider). Both serve Debian's
// simplesamlphp package (installed by scripts/install-simplesamlphp.sh)
// with PHP's built-in web server from a fresh temporary directory.
//
// This package installs the package when it is missing (Install), writes
// the config skeleton (WriteConfig) and the metadata of trusted peers
// (Entities, WriteAtomic), and runs `php -S` (Serve): on a port of
// 127.0.0.1 picked at run time, in a process group of its own that the
// kernel kills when the test binary dies (Linux), with a pid file so that
// the next run can sweep up what a killed test binary left (Sweep).
package simplesamllab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/labscript"
)

// DocumentRoot is where Debian's simplesamlphp package puts the web pages.
const DocumentRoot = "/usr/share/simplesamlphp/www"

// Install runs scripts/install-simplesamlphp.sh when PHP is not on PATH
// or probe (a file under DocumentRoot) is missing. Its errors wrap skip:
// SimpleSAMLphp cannot run here.
func Install(ctx context.Context, probe string, skip error) error {
	if _, err := exec.LookPath("php"); err == nil {
		if _, err := os.Stat(filepath.Join(DocumentRoot, probe)); err == nil {
			return nil
		}
	}
	script, err := labscript.Find("install-simplesamlphp.sh", "", "", skip)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, script.Path).CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s failed (run it as root, or `make tools`): %v\n%s", skip, script.Path, err, out)
	}
	return nil
}

// Get fetches u from a lab (at most 1 MiB of its body, within timeout).
// The response's body is read and closed.
func Get(ctx context.Context, u string, timeout time.Duration) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// Entities wraps metadata documents (each an EntityDescriptor, with or
// without an XML declaration) in one EntitiesDescriptor, the file a
// SimpleSAMLphp 'xml' metadata source reads. Each must contain want (an
// element name); what names them in the error ("SP", "IdP").
func Entities(what, want string, mds ...[]byte) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?>` + "\n" + `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + "\n")
	for i, md := range mds {
		md = bytes.TrimSpace(md)
		if bytes.HasPrefix(md, []byte("<?xml")) {
			if end := bytes.Index(md, []byte("?>")); end >= 0 {
				md = bytes.TrimSpace(md[end+2:])
			}
		}
		if !bytes.Contains(md, []byte(want)) {
			return nil, fmt.Errorf("%s metadata %d has no %s: %.80q", what, i, want, md)
		}
		b.Write(md)
		b.WriteByte('\n')
	}
	b.WriteString("</EntitiesDescriptor>\n")
	return b.Bytes(), nil
}

// WriteAtomic writes a file that readers see whole or not at all.
func WriteAtomic(name string, data []byte, perm os.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// PHPString is s as a PHP single-quoted string literal.
func PHPString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
