package idplab

// Writing the IdP's files: its config, the SPs it trusts, its key pair.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// writeConfig writes SimpleSAMLphp's config for an IdP at base into dir:
// config/config.php, config/authsources.php (the users) and
// metadata/saml20-idp-hosted.php (the IdP itself). The service providers
// it trusts come from metadata/sp.xml (see IdP.Trust).
func writeConfig(dir, base string) error {
	for _, sub := range []string{"config", "metadata", "log", "data", "tmp", "sessions"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	r := strings.NewReplacer("@DIR@", phpString(dir), "@BASE@", phpString(base))
	for name, content := range map[string]string{
		"config/config.php":      configPHP,
		"config/authsources.php": authsourcesPHP,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(r.Replace(content)), 0o600); err != nil {
			return err
		}
	}
	return writeHosted(dir, false)
}

// writeHosted writes the IdP's own metadata, with or without assertion
// encryption.
func writeHosted(dir string, encrypt bool) error {
	php := strings.Replace(idpHostedPHP, "@ENCRYPT@", strconv.FormatBool(encrypt), 1)
	return writeAtomic(filepath.Join(dir, "metadata", "saml20-idp-hosted.php"), []byte(php), 0o600)
}

// phpString is s as a PHP single-quoted string literal.
func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// configPHP is a minimal SimpleSAMLphp 1.19 config for a loopback IdP:
// nothing under /etc is read or written, nothing phones home.
const configPHP = `<?php
$D = @DIR@;
$config = [
    'baseurlpath' => @BASE@,            // absolute: entity ids carry host and port
    'certdir' => $D . '/cert/',
    'loggingdir' => $D . '/log/',
    'datadir' => $D . '/data/',
    'tempdir' => $D . '/tmp',
    'metadatadir' => $D . '/metadata/',
    'metadata.sources' => [
        ['type' => 'flatfile', 'directory' => $D . '/metadata/'],   // the IdP itself
        ['type' => 'xml', 'file' => $D . '/metadata/sp.xml'],        // the SPs it trusts
    ],
    'technicalcontact_name' => 'gatehouse tests',
    'technicalcontact_email' => 'na@example.org',
    'timezone' => 'UTC',
    'secretsalt' => 'gatehouse-tests-only-not-a-secret',
    'auth.adminpassword' => 'gatehouse-tests-admin',
    'admin.protectindexpage' => false,
    'admin.protectmetadata' => false,
    'admin.checkforupdates' => false,
    'enable.http_post' => false,
    'debug' => ['saml' => false, 'backtraces' => true, 'validatexml' => false],
    'showerrors' => true,
    'errorreporting' => false,
    'logging.level' => SimpleSAML\Logger::NOTICE,
    'logging.handler' => 'stderr',
    'enable.saml20-idp' => true,
    'enable.shib13-idp' => false,
    'enable.adfs-idp' => false,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true],
    'store.type' => 'phpsession',
    'session.phpsession.savepath' => $D . '/sessions',
    'session.phpsession.cookiename' => 'SimpleSAML',
    'session.phpsession.httponly' => true,
    'session.cookie.name' => 'SimpleSAMLSessionID',
    'session.cookie.path' => '/',
    'session.cookie.secure' => false,   // plain http on loopback
    'session.cookie.samesite' => null,
    'session.duration' => 8 * 3600,     // SessionNotOnOrAfter
    'session.datastore.timeout' => 4 * 3600,
    'session.state.timeout' => 3600,
    'language.default' => 'en',
    'language.cookie.secure' => false,
    'theme.use' => 'default',
    'production' => true,
];
`

// authsourcesPHP holds the static users: 'user:password' => attributes.
const authsourcesPHP = `<?php
$config = [
    'admin' => ['core:AdminPassword'],
    'users' => [
        'exampleauth:UserPass',
        'alice:password' => [
            'uid' => ['alice'],
            'upn' => ['alice@EXAMPLE.TEST'],
            'mail' => ['alice@example.com'],
            'displayName' => ['Alice Example'],
            'groups' => ['staff', 'hr'],
        ],
        'bob:password' => [
            'uid' => ['bob'],
            'mail' => ['bob@example.com'],
        ],
    ],
];
`

// idpHostedPHP is the IdP: it signs both the Response and the Assertion
// (RSA-SHA256), and with assertion.encryption encrypts the Assertion to
// the SP's encryption certificate (AES-128-CBC, RSA-OAEP). A request for a
// persistent NameID gets an opaque id derived from uid, the SP and the
// salt; any other request gets the uid.
const idpHostedPHP = `<?php
$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'users',
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'saml20.sign.assertion' => true,
    'saml20.sign.response' => true,
    'assertion.encryption' => @ENCRYPT@,
    'simplesaml.nameidattribute' => 'uid',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
    'authproc' => [
        4 => ['class' => 'saml:PersistentNameID', 'attribute' => 'uid'],
    ],
];
`

// Trust makes the service providers with these metadata documents (each an
// EntityDescriptor) the ones the IdP trusts, instead of those it trusted
// before. It takes effect with the next request.
func (idp *IdP) Trust(spMetadata ...[]byte) error {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?>` + "\n" + `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + "\n")
	for i, md := range spMetadata {
		md = bytes.TrimSpace(md)
		if bytes.HasPrefix(md, []byte("<?xml")) {
			if end := bytes.Index(md, []byte("?>")); end >= 0 {
				md = bytes.TrimSpace(md[end+2:])
			}
		}
		if !bytes.Contains(md, []byte("EntityDescriptor")) {
			return fmt.Errorf("SP metadata %d is not an EntityDescriptor: %.80q", i, md)
		}
		b.Write(md)
		b.WriteByte('\n')
	}
	b.WriteString("</EntitiesDescriptor>\n")
	return writeAtomic(filepath.Join(idp.Dir, "metadata", "sp.xml"), b.Bytes(), 0o644)
}

// EncryptAssertions has the IdP encrypt its assertions to each SP's
// encryption certificate (from its metadata), or stop doing so. It takes
// effect with the next request.
func (idp *IdP) EncryptAssertions(on bool) error {
	return writeHosted(idp.Dir, on)
}

// writeKeyPair writes the IdP's signing key and a self-signed certificate
// for it into dir/cert.
func writeKeyPair(dir string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse test IdP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "cert"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert", "idp.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "cert", "idp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeAtomic writes a file that readers see whole or not at all.
func writeAtomic(name string, data []byte, perm os.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
