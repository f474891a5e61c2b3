package tunnel

// BackendBuckets are the upper bounds, in seconds, of the backend latency
// histogram a connector keeps (ConnectorMetrics): both sides use this
// list, so a report carries counts only.
var BackendBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Backend error kinds a connector counts (AppMetrics.Errors).
const (
	BackendErrDial    = "dial"    // the backend could not be reached (refused, no route, DNS)
	BackendErrTimeout = "timeout" // no response head within the app's backend.timeout
	BackendErrTLS     = "tls"     // the backend's certificate or TLS handshake failed
	BackendErrOther   = "other"   // any other failure before a response head
	BackendErr5xx     = "5xx"     // the backend answered with a 5xx status
)

// BackendErrKinds lists every kind, the only ones a gateway accepts.
var BackendErrKinds = []string{BackendErrDial, BackendErrTimeout, BackendErrTLS, BackendErrOther, BackendErr5xx}

// ConnectorMetrics is a connector's own metrics, cumulative since the
// connector process started, sent with its heartbeats (Heartbeat.Metrics):
// a connector never listens, so the gateway exposes them. Start changes
// when the connector restarts (its counts start again from 0); the
// gateway adds the differences, so its counters never go down.
type ConnectorMetrics struct {
	Start  string          `json:"start"`
	Apps   []AppMetrics    `json:"apps,omitempty"`
	SignOn []PluginMetrics `json:"sign_on,omitempty"`
}

// AppMetrics is one app's backend requests at a connector.
type AppMetrics struct {
	App      string `json:"app"`
	Requests uint64 `json:"requests"`
	// Errors by kind (BackendErrKinds).
	Errors map[string]uint64 `json:"errors,omitempty"`
	// Buckets counts the requests whose response head came within each
	// BackendBuckets bound (not cumulative: bucket i holds those above
	// bound i-1); one more entry counts the rest. Sum is their total in
	// seconds. Failed requests are not timed.
	Buckets []uint64 `json:"buckets,omitempty"`
	Sum     float64  `json:"sum,omitempty"`
}

// PluginMetrics is one sign-on plug-in's health at a connector.
type PluginMetrics struct {
	Plugin string `json:"plugin"`
	// Failures counts requests refused because the plug-in failed
	// (a Kerberos error, a plug-in that does not answer, ...).
	Failures uint64 `json:"failures"`
	// Restarts counts plug-in processes replaced after a crash or hang.
	Restarts uint64 `json:"restarts,omitempty"`
	// Calls counts Inject calls made for requests; Reused counts requests
	// that got a result the plug-in let the connector reuse instead
	// (sdk.InjectResult.ReuseFor) or one of its spares (Spares). Zero
	// from an older connector.
	Calls  uint64 `json:"calls,omitempty"`
	Reused uint64 `json:"reused,omitempty"`
}
