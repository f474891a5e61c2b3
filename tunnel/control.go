package tunnel

import (
	"fmt"

	"github.com/gatehouse/gatehouse/release"
	"github.com/gatehouse/gatehouse/sdk"
)

// ALPN protocol names on the tunnel port.
const (
	ProtoTunnel = "gatehouse-tunnel/1"
	ProtoEnroll = "gatehouse-enroll/1"
)

// ServerName is the name in the tunnel listener's certificate. Connectors
// check it against the pinned gateway CA, whatever address they dialled, so
// the gateway can sit behind any TCP load balancer.
const ServerName = "gatehouse-tunnel"

// Control message types.
const (
	MsgHello     = "hello"     // connector → gateway, first message
	MsgConfig    = "config"    // gateway → connector, after hello and on every reload
	MsgReady     = "ready"     // connector → gateway, config applied: send traffic
	MsgHeartbeat = "heartbeat" // connector → gateway, every Config.HeartbeatMillis
	MsgError     = "error"     // gateway → connector, then the session closes
	// MsgDrain asks the gateway to open no more request streams on this
	// session (the connector is shutting down); MsgDrained answers it once
	// every stream the gateway will ever open on the session is open, so
	// the connector can wait for those to finish and then close.
	MsgDrain   = "drain"   // connector → gateway
	MsgDrained = "drained" // gateway → connector
	// MsgNodes tells the connector the gateway nodes it should keep
	// sessions to (see NodeList). Sent after config and on every change
	// of the node list; older connectors ignore it, older gateways never
	// send it.
	MsgNodes = "nodes" // gateway → connector
	// MsgUpdate asks the connector to update itself to a signed release
	// (see Update); it answers with MsgUpdateStatus messages as it goes.
	MsgUpdate       = "update"        // gateway → connector
	MsgUpdateStatus = "update_status" // connector → gateway
	// MsgTrialPassed tells a trial process (Hello.Trial) that the gateway
	// probed it successfully: it exits 0. It has no body.
	MsgTrialPassed = "trial_passed" // gateway → connector
)

// Message is one control-stream frame; Type says which field is set.
type Message struct {
	Type      string     `json:"type"`
	Hello     *Hello     `json:"hello,omitempty"`
	Config    *Config    `json:"config,omitempty"`
	Ready     *Ready     `json:"ready,omitempty"`
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
	Error     *Error     `json:"error,omitempty"`
	Nodes     *NodeList  `json:"nodes,omitempty"`
	Update    *Update    `json:"update,omitempty"`
	// UpdateStatus is set on MsgUpdateStatus.
	UpdateStatus *UpdateStatus `json:"update_status,omitempty"`
}

// Hello introduces a connector's session.
type Hello struct {
	Version  string `json:"version"`
	Hostname string `json:"hostname"`
	// Session numbers the connector's parallel sessions to one gateway.
	Session int `json:"session"`
	// Trial marks a trial run of a new binary: the gateway routes no user
	// request to the session, probes it (a request stream for ProbeApp),
	// then sends MsgTrialPassed and the trial process exits.
	Trial bool `json:"trial,omitempty"`
	// OS and Arch are the connector binary's runtime.GOOS and GOARCH: the
	// gateway picks the release to update it to by them. A connector that
	// sends none (older than updates) is never sent an Update.
	OS   string `json:"os,omitempty"`
	Arch string `json:"arch,omitempty"`
}

// ProbeApp is the App of the request stream the gateway opens to probe a
// trial session: the connector answers GET / with 204 No Content itself,
// without a backend. Config rejects it as an app name (names start with a
// letter or digit), so it never names a published app.
const ProbeApp = "-probe"

// Update asks a connector to update to Release. The connector verifies it
// with the release key it trusts plus Chain (key rotations, oldest first)
// before it downloads anything; TrialTimeoutMillis bounds the trial run.
type Update struct {
	Release            release.Release       `json:"release"`
	Chain              []release.Endorsement `json:"chain,omitempty"`
	TrialTimeoutMillis int64                 `json:"trial_timeout_ms,omitempty"`
}

// Update phases, as a connector reports them in UpdateStatus.Phase.
const (
	// PhaseRefused: verification failed or a downgrade; nothing was written.
	PhaseRefused     = "refused"
	PhaseDownloading = "downloading"
	PhaseTrial       = "trial"
	PhaseTrialFailed = "trial_failed"
	PhaseSwapping    = "swapping"
	// PhaseRestarting: about to exec the new binary.
	PhaseRestarting = "restarting"
	PhaseRolledBack = "rolled_back"
	PhaseFailed     = "failed"
)

// UpdateStatus reports a connector's progress through an Update. Version
// is the release's version; Error says what went wrong in a failure phase.
type UpdateStatus struct {
	Version string `json:"version"`
	Phase   string `json:"phase"`
	Error   string `json:"error,omitempty"`
}

// Config is what a connector needs to serve its group's apps.
type Config struct {
	Version         uint64      `json:"version"`
	HeartbeatMillis int64       `json:"heartbeat_ms"`
	Apps            []AppConfig `json:"apps"`
}

// AppConfig tells a connector how to reach one app's backend.
type AppConfig struct {
	Name string `json:"name"`
	// ExternalHost is the host users see; sent as Host when PreserveHost.
	ExternalHost string `json:"external_host"`
	// PathPrefix is the app's external path prefix ("/" for the whole
	// host): it is replaced by the backend URL's path.
	PathPrefix    string `json:"path_prefix"`
	URL           string `json:"url"`
	TimeoutMillis int64  `json:"timeout_ms"` // response-header timeout; 0 = none
	CAPEM         []byte `json:"ca_pem,omitempty"`
	PinSHA256     string `json:"pin_sha256,omitempty"`
	ServerName    string `json:"server_name,omitempty"`
	PreserveHost  bool   `json:"preserve_host,omitempty"`
	// Identity says the app has sign-in: every request must carry a valid
	// identity envelope for it, and one without is refused.
	Identity bool `json:"identity,omitempty"`
	// SignOn is the Injector plug-in that signs the user in to the backend.
	SignOn *SignOn `json:"sign_on,omitempty"`
	// NoAccessLog: the app's access_log is false, and the connector
	// writes no access line for its requests either.
	NoAccessLog bool `json:"no_access_log,omitempty"`
	// TCP is the backend host:port of a TCP app (apps[].tcp.backend): each
	// stream carries the request header, then the raw bytes of one TCP
	// connection both ways. Empty for a web app (URL is then set).
	TCP string `json:"tcp,omitempty"`
}

// SignOn is an app's use of an Injector plug-in at the connector. Plugin
// names an entry of the connector's own catalog: one built into it, or an
// executable its operator pinned by path and SHA-256.
type SignOn struct {
	Plugin string         `json:"plugin"`
	Config map[string]any `json:"config,omitempty"`
	// Keys are the gateway's assertion signing keys (newest first), for
	// plug-ins that sign for the backend; the gateway publishes them as JWKS.
	Keys []sdk.SigningKey `json:"keys,omitempty"`
}

// Ready acknowledges a Config.
type Ready struct {
	ConfigVersion uint64 `json:"config_version"`
	// SignOn is the connector's account of the sign-on plug-ins for this
	// config. Connectors older than this field send none; the gateway then
	// trusts them with built-in plug-ins only.
	SignOn *SignOnReport `json:"sign_on,omitempty"`
}

// SignOnReport says which sign-on plug-ins a connector has and, for every
// app with sign_on in the config it acknowledges, whether it runs that
// app's sign-on. The gateway sends an app's requests only to connectors
// that listed it in Accepted.
type SignOnReport struct {
	// Plugins is the connector's catalog: its built-in plug-ins and those
	// its operator pinned in its --config file.
	Plugins []PluginInfo `json:"plugins"`
	// Accepted names the apps whose sign-on plug-in started with the
	// app's config.
	Accepted []string `json:"accepted,omitempty"`
	// Refused says why each other app with sign_on was refused.
	Refused []SignOnRefusal `json:"refused,omitempty"`
}

// PluginInfo is one entry of a connector's plug-in catalog. The path of an
// executable stays on the connector; its pinned SHA-256 is reported.
type PluginInfo struct {
	Name    string `json:"name"`
	Builtin bool   `json:"builtin,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// SignOnRefusal is a connector's reason for not running an app's sign-on:
// the field at fault ("sign_on.plugin", "sign_on.config.key_file") and what
// is wrong. It never holds a value of the app's config.
type SignOnRefusal struct {
	App     string `json:"app"`
	Plugin  string `json:"plugin"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (r SignOnRefusal) String() string {
	return fmt.Sprintf("app %q: %s: %s", r.App, r.Field, r.Message)
}

// Heartbeat keeps a connector active.
type Heartbeat struct {
	InFlight int `json:"in_flight"`
	// Metrics are the connector's own metrics; connectors older than
	// this field send none, and older gateways ignore it.
	Metrics *ConnectorMetrics `json:"metrics,omitempty"`
}

// Error ends a session with a reason for the operator. Fatal errors (the
// connector was removed) mean retrying cannot help.
type Error struct {
	Message string `json:"message"`
	Fatal   bool   `json:"fatal"`
}
