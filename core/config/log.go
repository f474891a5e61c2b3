package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// The access log: one structured line per request routed to an app, at
// the gateway (package proxy) and at the connector, through the
// gateway's log (log.level info or debug; warn and error leave it out).
// Paths are logged without their query unless log.access_query is true,
// and never a header, a cookie or a token.

// AccessLogOn reports whether the app's requests are access-logged
// (apps[].access_log, default true).
func (a *App) AccessLogOn() bool { return a.AccessLog.Or(true) }

// OptBool is a true/false setting whose absence means its default (Or).
type OptBool struct{ set, val bool }

// UnmarshalYAML accepts true or false.
func (o *OptBool) UnmarshalYAML(n *yaml.Node) error {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		return fmt.Errorf("expected true or false, got %s", describeNode(n))
	}
	*o = OptBool{set: true, val: b}
	return nil
}

// MarshalYAML writes the value (nothing when unset).
func (o OptBool) MarshalYAML() (any, error) {
	if !o.set {
		return nil, nil
	}
	return o.val, nil
}

// IsZero reports an unset value (omitted from YAML).
func (o OptBool) IsZero() bool { return !o.set }

// Or returns the value, or def when unset.
func (o OptBool) Or(def bool) bool {
	if !o.set {
		return def
	}
	return o.val
}
