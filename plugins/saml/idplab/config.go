package idplab

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
