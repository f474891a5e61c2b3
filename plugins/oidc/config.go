package oidc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// config is the plug-in's config block; see README.md.
type config struct {
	Issuer           string        `json:"issuer"`
	ClientID         string        `json:"client_id"`
	ClientSecret     string        `json:"client_secret"`
	ClientSecretFile string        `json:"client_secret_file"`
	Scopes           []string      `json:"scopes"`
	ACRValues        []string      `json:"acr_values"`
	CAFile           string        `json:"ca_file"`
	DiscoveryTimeout time.Duration `json:"discovery_timeout"`
	IdentityLifetime time.Duration `json:"identity_lifetime"`

	UPNClaim    string   `json:"upn_claim"`
	EmailClaim  string   `json:"email_claim"`
	NameClaim   string   `json:"name_claim"`
	GroupsClaim string   `json:"groups_claim"`
	AMRClaim    string   `json:"amr_claim"`
	ACRClaim    string   `json:"acr_claim"`
	ExtraClaims []string `json:"extra_claims"`

	Bearer *bearerConfig `json:"bearer"`

	// EndSession: a user who signs out of the app is sent on to the
	// provider's end_session_endpoint (RP-initiated logout) when it has
	// one. Default true.
	EndSession *bool `json:"end_session"`
}

// bearerConfig turns on Authorization: Bearer JWTs for API clients.
type bearerConfig struct {
	Audience string `json:"audience"`
}

// Bounds of the durations in the config.
const (
	minDiscoveryTimeout = 100 * time.Millisecond
	maxDiscoveryTimeout = 2 * time.Minute
	minLifetime         = time.Minute
	maxLifetime         = 30 * 24 * time.Hour
)

// decode reads and checks the config block, with defaults for what it
// leaves out. It reads client_secret_file and ca_file.
func decode(req sdk.ConfigureRequest) (config, error) {
	cfg := config{
		Scopes:           []string{"openid", "profile", "email"},
		DiscoveryTimeout: 10 * time.Second,
		EmailClaim:       "email",
		NameClaim:        "name",
		GroupsClaim:      "groups",
		AMRClaim:         "amr",
		ACRClaim:         "acr",
	}
	if err := req.Decode(&cfg); err != nil {
		return cfg, err
	}
	if err := checkIssuer(cfg.Issuer); err != nil {
		return cfg, err
	}
	if cfg.ClientID == "" {
		return cfg, sdk.FieldErrorf("client_id", "is required: the client id registered for Gatehouse at the OpenID provider")
	}
	if cfg.ClientSecret != "" && cfg.ClientSecretFile != "" {
		return cfg, sdk.FieldErrorf("client_secret_file", "set client_secret or client_secret_file, not both")
	}
	if cfg.ClientSecretFile != "" {
		b, err := os.ReadFile(cfg.ClientSecretFile)
		if err != nil {
			return cfg, sdk.FieldErrorf("client_secret_file", "cannot read it: %v", err)
		}
		if cfg.ClientSecret = strings.TrimRight(string(b), "\r\n"); cfg.ClientSecret == "" {
			return cfg, sdk.FieldErrorf("client_secret_file", "%s is empty", cfg.ClientSecretFile)
		}
	}
	for i, s := range cfg.Scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > '~' }) {
			return cfg, sdk.FieldErrorf(fmt.Sprintf("scopes[%d]", i), "%q is not a scope name (printable ASCII, no spaces)", s)
		}
	}
	if !slices.Contains(cfg.Scopes, "openid") {
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	for i, v := range cfg.ACRValues {
		if v == "" || strings.ContainsAny(v, " \t\r\n") {
			return cfg, sdk.FieldErrorf(fmt.Sprintf("acr_values[%d]", i), "%q is not an acr value (no spaces)", v)
		}
	}
	if cfg.DiscoveryTimeout < minDiscoveryTimeout || cfg.DiscoveryTimeout > maxDiscoveryTimeout {
		return cfg, sdk.FieldErrorf("discovery_timeout", "must be between %v and %v, got %v", minDiscoveryTimeout, maxDiscoveryTimeout, cfg.DiscoveryTimeout)
	}
	if l := cfg.IdentityLifetime; l != 0 && (l < minLifetime || l > maxLifetime) {
		return cfg, sdk.FieldErrorf("identity_lifetime", "must be between %v and %v, or left out to use the ID token's expiry; got %v", minLifetime, maxLifetime, l)
	}
	for _, f := range []struct{ key, val string }{
		{"email_claim", cfg.EmailClaim}, {"name_claim", cfg.NameClaim}, {"groups_claim", cfg.GroupsClaim},
		{"amr_claim", cfg.AMRClaim}, {"acr_claim", cfg.ACRClaim},
	} {
		if f.val == "" {
			return cfg, sdk.FieldErrorf(f.key, "must name a claim; leave the key out for the default")
		}
	}
	for i, c := range cfg.ExtraClaims {
		if c == "" {
			return cfg, sdk.FieldErrorf(fmt.Sprintf("extra_claims[%d]", i), "must name a claim")
		}
	}
	if cfg.Bearer != nil && cfg.Bearer.Audience == "" {
		return cfg, sdk.FieldErrorf("bearer.audience", "is required: the audience (aud) that API tokens for this app carry")
	}
	return cfg, nil
}

// checkIssuer accepts an https URL, or plain http on a loopback host only
// (a provider on the same machine, as in tests).
func checkIssuer(issuer string) error {
	if issuer == "" {
		return sdk.FieldErrorf("issuer", "is required: the OpenID provider's issuer URL, such as https://login.example.com/realms/corp")
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return sdk.FieldErrorf("issuer", "%q is not an issuer URL: want https://HOST[/PATH], with no query, fragment or user", issuer)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return sdk.FieldErrorf("issuer", "%q is plain http: use https (plain http is allowed only on 127.0.0.1, ::1 or localhost)", issuer)
		}
	default:
		return sdk.FieldErrorf("issuer", "%q: the scheme must be https", issuer)
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

// httpClient is the client for every call to the provider: TLS 1.2 or
// later, trusting caFile's certificates instead of the system's if set.
func httpClient(cfg config) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		if strings.HasPrefix(cfg.Issuer, "http:") {
			return nil, sdk.FieldErrorf("ca_file", "the issuer is plain http, so there is no certificate to check: leave ca_file out or use https")
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, sdk.FieldErrorf("ca_file", "cannot read it: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, sdk.FieldErrorf("ca_file", "%s holds no PEM certificate", cfg.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.MaxIdleConnsPerHost = 16
	// Every call carries its request's context; the timeout is a backstop
	// for the key set fetches that go-oidc runs in the background.
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
