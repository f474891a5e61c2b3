package idplab

// Writing the IdP's files: its config, the SPs it trusts, its key pair.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/simplesamllab"
)

// writeConfig writes SimpleSAMLphp's config for an IdP at base into dir:
// config/config.php, config/authsources.php (the users) and
// metadata/saml20-idp-hosted.php (the IdP itself). The service providers
// it trusts come from metadata/sp.xml (see IdP.Trust).
func writeConfig(dir, base string) error {
	err := simplesamllab.WriteConfig(dir, simplesamllab.Config{
		BaseURL: base, // absolute: entity ids carry host and port
		Sources: []string{
			"['type' => 'flatfile', 'directory' => $D . '/metadata/']", // the IdP itself
			"['type' => 'xml', 'file' => $D . '/metadata/sp.xml']",     // the SPs it trusts
		},
		IdP:     true,
		Modules: []string{"exampleauth"},
		Cookie:  "SimpleSAML", // not Secure: plain http on loopback
	}, map[string]string{"config/authsources.php": authsourcesPHP})
	if err != nil {
		return err
	}
	return writeHosted(dir, false)
}

// writeHosted writes the IdP's own metadata, with or without assertion
// encryption.
func writeHosted(dir string, encrypt bool) error {
	php := strings.Replace(idpHostedPHP, "@ENCRYPT@", strconv.FormatBool(encrypt), 1)
	return simplesamllab.WriteAtomic(filepath.Join(dir, "metadata", "saml20-idp-hosted.php"), []byte(php), 0o600)
}

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
	b, err := simplesamllab.Entities("SP", "EntityDescriptor", spMetadata...)
	if err != nil {
		return err
	}
	return simplesamllab.WriteAtomic(filepath.Join(idp.Dir, "metadata", "sp.xml"), b, 0o644)
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
