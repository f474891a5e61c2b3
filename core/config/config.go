// Package config defines the gateway's configuration file: its types, a strict
// loader that names file, line and key for every mistake, defaults, and a
// watcher that reloads it on SIGHUP or when the file changes.
//
// Load (or Parse) decodes strictly, applies defaults, validates and
// normalises; every problem is reported at once as an *Errors, one line per
// problem in the form "file:line:col: key.path: message". A Watcher reloads
// the file and hands each valid new config to a callback.
//
// A loaded *Config is immutable: callers build a new one and swap it in whole.
package config

import "time"

// Config is one gateway's whole configuration, as read from its YAML file.
type Config struct {
	// Path is the absolute path of the file this config was read from (not a
	// YAML key; set by the loader).
	Path string `yaml:"-"`
	// Warnings are problems that do not stop the config from loading (a
	// password written in store.dsn), for the caller to log. Set by the
	// loader.
	Warnings []FieldError `yaml:"-"`
	// SHA256 is the hex SHA-256 of what this node serves, as loaded
	// (defaults applied), without the keys each node sets for itself
	// (sharedSum): nodes publish it so that 'gatehouse status' can flag
	// one that serves another config. Set by the loader.
	SHA256 string `yaml:"-"`

	// DataDir holds the SQLite store and development TLS material. Default
	// "data". Like every path in the file, a relative path is resolved
	// against the config file's directory; the loader stores it absolute.
	DataDir string `yaml:"data_dir"`

	Listen Listen `yaml:"listen"`
	Tunnel Tunnel `yaml:"tunnel"`
	TLS    TLS    `yaml:"tls"`
	Store  Store  `yaml:"store"`
	Log    Log    `yaml:"log"`
	// Admin configures the admin listener (listen.admin).
	Admin Admin `yaml:"admin"`
	// Cluster names this node among those sharing the store (cluster.go).
	Cluster Cluster `yaml:"cluster"`
	// Shutdown is what the node does on SIGTERM (cluster.go).
	Shutdown Shutdown `yaml:"shutdown"`

	// Plugins is the plug-in catalog that apps' auth and sign_on use.
	Plugins  []Plugin `yaml:"plugins"`
	Sessions Sessions `yaml:"sessions"`
	// Filters is the WASM filter catalog that apps' filter chains use.
	Filters []Filter `yaml:"filters"`

	// Release is the key connector releases are signed with (release.go).
	Release Release `yaml:"release,omitempty"`

	ConnectorGroups []ConnectorGroup `yaml:"connector_groups"`
	Apps            []App            `yaml:"apps"`
	// Portal is the My Apps portal (portal.go).
	Portal Portal `yaml:"portal,omitempty"`

	// FastPaths: false turns off every fast path (internal/fastpath), so
	// that the gateway runs on plain net/http. Default true.
	FastPaths FastPaths `yaml:"fast_paths,omitempty"`
}

// Listen says where the gateway accepts connections.
type Listen struct {
	// Public is the HTTPS address users reach, host:port, e.g. ":443".
	// Default "127.0.0.1:8443".
	Public string `yaml:"public"`
	// Tunnel is the TLS address connectors dial, host:port, e.g. ":8444".
	// Default "127.0.0.1:8444".
	Tunnel string `yaml:"tunnel"`
	// HTTP is an optional plain-HTTP address, e.g. ":80". It answers ACME
	// HTTP-01 challenges and redirects every other request to HTTPS (308).
	// Empty (the default): no HTTP listener.
	HTTP string `yaml:"http"`
	// Admin is the admin listener, plain HTTP: /metrics (Prometheus),
	// /healthz, /readyz and the read-only admin API under /api/v1/.
	// Default "127.0.0.1:9180"; "off" turns it off. It never shares a
	// port with the other listeners, and an address other hosts can
	// reach needs admin.allow_remote.
	Admin string `yaml:"admin"`
	// AdminDefault is set by the loader when listen.admin was left out:
	// if that default address is taken (a second gateway on the host),
	// the gateway logs a warning and serves without it, where an address
	// written in the file must bind.
	AdminDefault bool `yaml:"-"`
}

// AdminOff is the listen.admin value that turns the admin listener off.
const AdminOff = "off"

// Admin configures the admin listener.
type Admin struct {
	// AllowRemote lets listen.admin be an address that other hosts can
	// reach (not loopback). The listener has no TLS and no sign-in, so
	// such an address belongs on a management network. Default false.
	AllowRemote bool `yaml:"allow_remote,omitempty"`
	// Pprof serves Go's profiling endpoints under /debug/pprof/ on the
	// admin listener; a reload turns it on or off. Default false.
	Pprof bool `yaml:"pprof,omitempty"`
	// Console is the read-only admin console, a web page at / on the
	// admin listener (admin_console.go). Off unless configured.
	Console Console `yaml:"console,omitempty"`
}

// Tunnel configures the connector side of the gateway.
type Tunnel struct {
	// Advertise lists the host:port addresses written into enrollment
	// tokens: where connectors dial this gateway. Defaults to Listen.Tunnel,
	// so it must be set when Listen.Tunnel has no host (":8444") or an
	// any-address host ("0.0.0.0:8444").
	Advertise []string `yaml:"advertise"`
	// HeartbeatInterval is how often connectors send a heartbeat. Default 10s.
	HeartbeatInterval Duration `yaml:"heartbeat_interval"`
	// InactiveAfter marks a connector inactive (no traffic) when no
	// heartbeat arrived for this long. Default 30s; must exceed
	// HeartbeatInterval.
	InactiveAfter Duration `yaml:"inactive_after"`
	// RemoveAfter deletes a connector that has been inactive this long;
	// its certificate is refused from then on. Default 240h (10 days); must
	// exceed InactiveAfter.
	RemoveAfter Duration `yaml:"remove_after"`
}

// TLS configures the public listener's certificates.
type TLS struct {
	// Mode is "self-signed" (the default; development: a local CA in DataDir
	// issues a certificate per app host), "files" (CertFile and KeyFile,
	// PEM files that must exist and form a pair; used only in this mode) or
	// "acme" (certificates for the apps' hosts from an ACME CA, kept in the
	// store; see ACME).
	Mode     string `yaml:"mode"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	ACME     ACME   `yaml:"acme"`
}

// ACME configures certificate issuance in tls.mode acme. Only the hosts of
// configured apps ever get a certificate.
type ACME struct {
	// Directory is the ACME directory URL (https). Default: Let's Encrypt
	// production, https://acme-v02.api.letsencrypt.org/directory.
	Directory string `yaml:"directory"`
	// Email is the optional contact address of the ACME account.
	Email string `yaml:"email"`
	// CARoots is an optional PEM bundle trusted for the directory's HTTPS
	// (a private ACME CA); the system roots otherwise. CARootsPEM holds its
	// contents (set by the loader).
	CARoots    string `yaml:"ca_roots"`
	CARootsPEM []byte `yaml:"-"`
	// Challenges are the ACME challenge types to answer: "tls-alpn-01" (on
	// listen.public, which the CA must reach on port 443) and "http-01" (on
	// listen.http, reached on port 80; needs listen.http). Default: both
	// when listen.http is set, else tls-alpn-01.
	Challenges []string `yaml:"challenges"`
}

// Log configures the gateway's structured log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
	// AccessQuery puts the query string in access-log paths. Default
	// false: queries often carry tokens and personal data (log.go).
	AccessQuery bool `yaml:"access_query,omitempty"`
}

// ConnectorGroup is a set of connectors that serve the same apps and back
// each other up.
type ConnectorGroup struct {
	// Name is unique among groups: 1-63 lower-case letters, digits and "-",
	// starting with a letter or digit.
	Name string `yaml:"name"`
	// Updates is how the group's connectors are updated (release.go).
	Updates Updates `yaml:"updates"`
}

// App is one published internal web app.
type App struct {
	// Name identifies the app in logs, tokens and the tunnel protocol.
	// Unique among apps, with the same syntax as ConnectorGroup.Name.
	Name string `yaml:"name"`
	// Host is the external host name users open, e.g. "hr.example.com":
	// a DNS name without port or scheme (not an IP address), or a
	// wildcard "*.apps.example.com" matching one label (wildcard.go); the
	// loader lower-cases it.
	Host string `yaml:"host"`
	// PathPrefix optionally narrows the app to a path below Host ("/" when
	// empty). The loader drops a trailing slash ("/hr/" becomes "/hr").
	// Each (Host, PathPrefix) pair belongs to one app. The prefix is
	// replaced by the backend URL's path: /hr/x reaches <backend>/x.
	PathPrefix string `yaml:"path_prefix"`
	// CaseInsensitivePaths says the backend reads paths without regard to
	// case, the Windows way (IIS): the path prefixes of this app's host
	// then match in any case (/HR/x is /hr/x), the access rule sees the
	// path in lower case, and names Windows reads as other names (a
	// trailing dot or space, 8.3 short names such as ADMINI~1) are
	// refused. Default false: paths are compared exactly.
	CaseInsensitivePaths bool `yaml:"case_insensitive_paths,omitempty"`
	// KeepEscapedSlashes forwards %2F and %5C (an encoded "/" or "\") in
	// paths as they are; routing and the access rule read them as
	// separators. Default false: such paths are refused with 400, since a
	// backend may decode them into separators the gateway did not route by.
	KeepEscapedSlashes bool `yaml:"keep_escaped_slashes,omitempty"`
	// Group is the connector group that reaches this app's backend.
	Group   string  `yaml:"group"`
	Backend Backend `yaml:"backend"`
	// Auth says how users sign in before any request reaches the backend:
	// an Authenticator plug-in, or passthrough. Required.
	Auth Auth `yaml:"auth"`
	// SignOn optionally signs the user in to the backend at the connector
	// (identity headers, a signed assertion, ...).
	SignOn SignOn `yaml:"sign_on"`
	// Vault turns on the password vault (with sign_on plug-in vault).
	Vault Vault `yaml:"vault"`
	// SAMLIdP makes Gatehouse the SAML IdP of the app's backend (samlidp.go).
	SAMLIdP *SAMLIdP `yaml:"saml_idp,omitempty"`
	// Access is the app's conditional access policy (sign-in apps only).
	Access Access `yaml:"access"`
	// Filters is the app's WASM filter chain, run in order on requests
	// (and in reverse on responses) at the gateway.
	Filters []FilterUse `yaml:"filters"`
	// HSTS is the Strict-Transport-Security max-age sent on this app's
	// responses: false (no header), true (8760h, one year) or a duration
	// of whole seconds such as 720h. Left out: one year in tls.mode acme,
	// no header otherwise.
	HSTS HSTS `yaml:"hsts"`
	// CertFile and KeyFile serve this app's host with a certificate of its
	// own (PEM chain and private key), whatever tls.mode says: for a host
	// whose certificate comes from elsewhere. Both or neither; apps that
	// share a host must name the same files. Relative paths start at the
	// config file's directory.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ForwardIdentityHeaders lets the identity headers a client sends
	// reach the backend: Remote-*, X-Remote-*, X-Auth-Request-*,
	// X-Webauth-*, X-Forwarded-User, -Email, -Groups, -Preferred-Username
	// and -Access-Token. Default false: they are removed, so that a
	// backend that reads them cannot be told who the user is by the user
	// (headers with "_" and X-Gatehouse-* are removed whatever this says).
	ForwardIdentityHeaders bool `yaml:"forward_identity_headers,omitempty"`
	// AllowTrailers names the request trailers that may reach the
	// backend; every other one is dropped. Identity and X-Gatehouse-*
	// names, names with "_", the headers the gateway sets and those
	// RFC 9110 keeps out of trailers are refused. The loader writes the
	// names in canonical form.
	AllowTrailers []string `yaml:"allow_trailers,omitempty"`
	// AccessLog: false turns off this app's access-log lines at the
	// gateway and the connector (AccessLogOn). Default true.
	AccessLog OptBool `yaml:"access_log,omitempty"`
	// Cookie is this app's own session-cookie settings (cookie.go).
	Cookie AppCookie `yaml:"cookie,omitempty"`
	// TCP makes this a TCP app (tcp.go): users reach tcp.backend through
	// `gatehouse connect`, and the app has no backend URL. nil: a web app.
	TCP *TCP `yaml:"tcp,omitempty"`
	// Wildcard holds a wildcard app's settings (wildcard.go).
	Wildcard Wildcard `yaml:"wildcard,omitempty"`
	// Portal is how the app shows in the My Apps portal (portal.go).
	Portal AppPortal `yaml:"portal,omitempty"`
}

// Backend says how a connector reaches the internal app.
type Backend struct {
	// URL is the internal base URL, http:// or https://, with a host and no
	// credentials, query or fragment.
	URL string `yaml:"url"`
	// Timeout bounds the wait for the backend's response headers once the
	// request has been sent; 0 means no limit. Bodies are never capped.
	// Default 60s when the key is absent (an explicit 0 stays 0).
	Timeout Duration `yaml:"timeout"`
	// CAFile is a PEM bundle of CAs that sign an https:// backend's certificate.
	// Its contents are sent to the connector (CA is set by the loader).
	CAFile string `yaml:"ca_file"`
	CA     []byte `yaml:"-"`
	// PinSHA256 pins the backend's leaf certificate by the hex SHA-256 of
	// its DER: 64 hex digits, colons allowed; the loader stores them in
	// lower case without colons. Only for https:// backends.
	PinSHA256 string `yaml:"pin_sha256"`
	// ServerName overrides the TLS server name checked for an https:// backend.
	ServerName string `yaml:"server_name"`
	// PreserveHost sends the external Host header to the backend instead of
	// the backend URL's host.
	PreserveHost bool `yaml:"preserve_host"`
}

// Duration is a time.Duration written in YAML as "30s", "10m", "240h".
// Negative durations are rejected.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
