package simplesamllab

// The config skeleton: config/config.php and the directories it names.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is what differs between the labs' config.php files.
type Config struct {
	// BaseURL is baseurlpath: absolute (with host and port) for an IdP
	// reached directly, the public URL for an SP behind the gateway.
	BaseURL string
	// Sources are the metadata.sources entries, as PHP arrays in which
	// $D is the directory.
	Sources []string
	// IdP turns on the SAML 2.0 IdP (enable.saml20-idp).
	IdP bool
	// Modules are enabled besides core, saml and admin.
	Modules []string
	// Cookie names the PHP session cookie; the SimpleSAMLphp session
	// cookie is Cookie + "SessionID".
	Cookie string
	// SecureCookies marks the session cookies Secure (https only).
	SecureCookies bool
}

// WriteConfig makes the directories SimpleSAMLphp uses under dir and
// writes config/config.php for c and the other files (paths under dir:
// config/authsources.php, ...), in which @DIR@ and @BASE@ stand for dir
// and c.BaseURL as PHP strings and more maps further place-holders to
// their text.
func WriteConfig(dir string, c Config, files map[string]string, more ...string) error {
	for _, sub := range []string{"config", "metadata", "log", "data", "tmp", "sessions", "cert"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	modules := ""
	for _, m := range c.Modules {
		modules += PHPString(m) + " => true, "
	}
	r := strings.NewReplacer(append([]string{"@DIR@", PHPString(dir), "@BASE@", PHPString(c.BaseURL),
		"@SOURCES@", strings.Join(c.Sources, ",\n        "), "@IDP@", strconv.FormatBool(c.IdP),
		"@MODULES@", modules, "@COOKIE@", PHPString(c.Cookie), "@SESSIONCOOKIE@", PHPString(c.Cookie + "SessionID"),
		"@SECURE@", strconv.FormatBool(c.SecureCookies)}, more...)...)
	all := map[string]string{"config/config.php": configPHP}
	for name, content := range files {
		all[name] = content
	}
	for name, content := range all {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(r.Replace(content)), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// configPHP is a minimal SimpleSAMLphp 1.19 config for a loopback lab:
// nothing under /etc is read or written, nothing phones home.
const configPHP = `<?php
$D = @DIR@;
$config = [
    'baseurlpath' => @BASE@,
    'certdir' => $D . '/cert/',
    'loggingdir' => $D . '/log/',
    'datadir' => $D . '/data/',
    'tempdir' => $D . '/tmp',
    'metadatadir' => $D . '/metadata/',
    'metadata.sources' => [
        @SOURCES@,
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
    'enable.saml20-idp' => @IDP@,
    'enable.shib13-idp' => false,
    'enable.adfs-idp' => false,
    'module.enable' => [@MODULES@'core' => true, 'saml' => true, 'admin' => true],
    'store.type' => 'phpsession',
    'session.phpsession.savepath' => $D . '/sessions',
    'session.phpsession.cookiename' => @COOKIE@,
    'session.phpsession.httponly' => true,
    'session.cookie.name' => @SESSIONCOOKIE@,
    'session.cookie.path' => '/',
    'session.cookie.secure' => @SECURE@,
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
