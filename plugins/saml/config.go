package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse/sdk"
)

// config is the plug-in's config block; see README.md.
type config struct {
	IDPMetadataFile string        `json:"idp_metadata_file"`
	IDPMetadataURL  string        `json:"idp_metadata_url"`
	IDPEntityID     string        `json:"idp_entity_id"`
	CAFile          string        `json:"ca_file"`
	MetadataTimeout time.Duration `json:"metadata_timeout"`
	MetadataRefresh time.Duration `json:"metadata_refresh"`

	SPEntityID string `json:"sp_entity_id"`
	SPKeyFile  string `json:"sp_key_file"`
	SPCertFile string `json:"sp_cert_file"`

	NameIDFormat     string        `json:"name_id_format"`
	ForceAuthn       bool          `json:"force_authn"`
	ClockSkew        time.Duration `json:"clock_skew"`
	IdentityLifetime time.Duration `json:"identity_lifetime"`
	AllowSHA1        bool          `json:"allow_sha1"`

	SubjectAttribute string   `json:"subject_attribute"`
	UPNAttribute     string   `json:"upn_attribute"`
	EmailAttribute   string   `json:"email_attribute"`
	NameAttribute    string   `json:"name_attribute"`
	GroupsAttribute  string   `json:"groups_attribute"`
	AMRAttribute     string   `json:"amr_attribute"`
	ExtraAttributes  []string `json:"extra_attributes"`

	// SingleLogout: a user who signs out of the app is sent on to the
	// IdP's SingleLogoutService (HTTP-Redirect) with a signed
	// LogoutRequest, when its metadata has one. Default true.
	SingleLogout *bool `json:"single_logout"`
}

// Bounds of the durations in the config.
const (
	minMetadataTimeout = 100 * time.Millisecond
	maxMetadataTimeout = 2 * time.Minute
	minMetadataRefresh = time.Minute
	maxClockSkew       = 3 * time.Minute // crewjam/saml's own allowance (saml.MaxClockSkew)
	minLifetime        = time.Minute
	maxLifetime        = 30 * 24 * time.Hour
)

// nameIDFormats are the accepted name_id_format values.
var nameIDFormats = map[string]crewjam.NameIDFormat{
	"unspecified": crewjam.UnspecifiedNameIDFormat,
	"persistent":  crewjam.PersistentNameIDFormat,
	"transient":   crewjam.TransientNameIDFormat,
	"email":       crewjam.EmailAddressNameIDFormat,
}

// decode reads and checks the config block, with defaults for what it
// leaves out. Files are read later, by loadKeyPair and loadIdP.
func decode(req sdk.ConfigureRequest) (config, error) {
	cfg := config{
		MetadataTimeout: 10 * time.Second,
		MetadataRefresh: 24 * time.Hour,
		NameIDFormat:    "unspecified",
		ClockSkew:       time.Minute,
		UPNAttribute:    "upn",
		EmailAttribute:  "mail",
		NameAttribute:   "displayName",
		GroupsAttribute: "groups",
	}
	if err := req.Decode(&cfg); err != nil {
		return cfg, err
	}
	switch {
	case cfg.IDPMetadataFile == "" && cfg.IDPMetadataURL == "":
		return cfg, sdk.FieldErrorf("idp_metadata_file", "is required (or idp_metadata_url): the IdP's SAML metadata, as it publishes it")
	case cfg.IDPMetadataFile != "" && cfg.IDPMetadataURL != "":
		return cfg, sdk.FieldErrorf("idp_metadata_url", "set idp_metadata_file or idp_metadata_url, not both")
	}
	if cfg.IDPMetadataURL != "" {
		if err := checkMetadataURL(cfg.IDPMetadataURL); err != nil {
			return cfg, err
		}
	}
	if cfg.CAFile != "" && !strings.HasPrefix(cfg.IDPMetadataURL, "https:") {
		return cfg, sdk.FieldErrorf("ca_file", "is for an https idp_metadata_url: leave it out with idp_metadata_file or a plain http URL")
	}
	if cfg.MetadataTimeout < minMetadataTimeout || cfg.MetadataTimeout > maxMetadataTimeout {
		return cfg, sdk.FieldErrorf("metadata_timeout", "must be between %v and %v, got %v", minMetadataTimeout, maxMetadataTimeout, cfg.MetadataTimeout)
	}
	if cfg.MetadataRefresh < minMetadataRefresh {
		return cfg, sdk.FieldErrorf("metadata_refresh", "must be at least %v, got %v", minMetadataRefresh, cfg.MetadataRefresh)
	}
	if cfg.SPEntityID != "" {
		if err := checkEntityID(cfg.SPEntityID); err != nil {
			return cfg, err
		}
	}
	if cfg.SPKeyFile == "" {
		return cfg, sdk.FieldErrorf("sp_key_file", "is required: the PEM private key that signs the AuthnRequests (see README.md to make one)")
	}
	if cfg.SPCertFile == "" {
		return cfg, sdk.FieldErrorf("sp_cert_file", "is required: the PEM certificate of sp_key_file, which the SP metadata publishes")
	}
	if _, ok := nameIDFormats[cfg.NameIDFormat]; !ok {
		return cfg, sdk.FieldErrorf("name_id_format", "must be unspecified, persistent, transient or email, got %q", cfg.NameIDFormat)
	}
	if cfg.ClockSkew < 0 || cfg.ClockSkew > maxClockSkew {
		return cfg, sdk.FieldErrorf("clock_skew", "must be between 0s and %v, got %v", maxClockSkew, cfg.ClockSkew)
	}
	if l := cfg.IdentityLifetime; l != 0 && (l < minLifetime || l > maxLifetime) {
		return cfg, sdk.FieldErrorf("identity_lifetime", "must be between %v and %v, or left out to use the IdP's SessionNotOnOrAfter; got %v", minLifetime, maxLifetime, l)
	}
	for _, f := range []struct{ key, val string }{
		{"upn_attribute", cfg.UPNAttribute}, {"email_attribute", cfg.EmailAttribute},
		{"name_attribute", cfg.NameAttribute}, {"groups_attribute", cfg.GroupsAttribute},
	} {
		if strings.TrimSpace(f.val) == "" {
			return cfg, sdk.FieldErrorf(f.key, "must name an attribute (its Name or FriendlyName); leave the key out for the default")
		}
	}
	for i, n := range cfg.ExtraAttributes {
		if strings.TrimSpace(n) == "" {
			return cfg, sdk.FieldErrorf(fmt.Sprintf("extra_attributes[%d]", i), "must name an attribute")
		}
	}
	return cfg, nil
}

// checkMetadataURL accepts an https URL, or plain http on a loopback host
// only (an IdP on the same machine, as in tests): the metadata names the
// certificates that may sign sign-ins.
func checkMetadataURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return sdk.FieldErrorf("idp_metadata_url", "%q is not a URL: want https://HOST/PATH", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return sdk.FieldErrorf("idp_metadata_url", "%q is plain http: use https, or download the metadata into idp_metadata_file (plain http is allowed only on 127.0.0.1, ::1 or localhost)", s)
		}
	default:
		return sdk.FieldErrorf("idp_metadata_url", "%q: the scheme must be https", s)
	}
	return nil
}

// checkEntityID accepts an absolute URI (https://..., urn:...), as SAML
// entity ids are, of at most 1024 characters (saml-core 8.3.6).
func checkEntityID(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || len(s) > 1024 || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return sdk.FieldErrorf("sp_entity_id", "%q is not an entity id: want an absolute URI such as https://hr.example.com or urn:example:hr", s)
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loadKeyPair reads the SP's key and certificate, checks that they
// belong together, and picks the signature method for the key.
func loadKeyPair(cfg config) (crypto.Signer, *x509.Certificate, string, error) {
	keyPEM, err := os.ReadFile(cfg.SPKeyFile)
	if err != nil {
		return nil, nil, "", sdk.FieldErrorf("sp_key_file", "cannot read it: %v", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, "", sdk.FieldErrorf("sp_key_file", "%s: %v", cfg.SPKeyFile, err)
	}
	certPEM, err := os.ReadFile(cfg.SPCertFile)
	if err != nil {
		return nil, nil, "", sdk.FieldErrorf("sp_cert_file", "cannot read it: %v", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, "", sdk.FieldErrorf("sp_cert_file", "%s holds no PEM certificate", cfg.SPCertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, "", sdk.FieldErrorf("sp_cert_file", "%s: %v", cfg.SPCertFile, err)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, nil, "", sdk.FieldErrorf("sp_cert_file", "%s is not the certificate of sp_key_file %s", cfg.SPCertFile, cfg.SPKeyFile)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, nil, "", sdk.FieldErrorf("sp_key_file", "%s is a %d-bit RSA key: use 2048 bits or more", cfg.SPKeyFile, k.N.BitLen())
		}
		return key, cert, dsig.RSASHA256SignatureMethod, nil
	case *ecdsa.PrivateKey:
		return key, cert, dsig.ECDSASHA256SignatureMethod, nil
	}
	return nil, nil, "", sdk.FieldErrorf("sp_key_file", "%s: want an RSA or ECDSA key", cfg.SPKeyFile)
}

// parseKey reads the first private key in a PEM file: PKCS #8, PKCS #1
// (RSA) or SEC 1 (EC).
func parseKey(b []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("holds no PEM private key")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("the key is encrypted: store it without a passphrase (and readable by the gateway only)")
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("a %T cannot sign", key)
		}
		return signer, nil
	}
}

// httpClient is the client that fetches idp_metadata_url: TLS 1.2 or
// later, trusting ca_file's certificates instead of the system's if set,
// and no redirects to anything but https.
func httpClient(cfg config) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, sdk.FieldErrorf("ca_file", "cannot read it: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, sdk.FieldErrorf("ca_file", "%s holds no PEM certificate", cfg.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	return &http.Client{Transport: tr, Timeout: cfg.MetadataTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("more than 5 redirects")
			}
			if req.URL.Scheme != "https" && !(req.URL.Scheme == "http" && loopback(req.URL.Hostname())) {
				return fmt.Errorf("redirected to %s, which is not https", req.URL.Redacted())
			}
			return nil
		}}, nil
}
