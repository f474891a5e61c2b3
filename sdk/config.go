package sdk

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// ConfigureRequest is what a plug-in's constructor gets when an app that
// uses it is loaded: the app's opaque config block and anything the host
// provides.
type ConfigureRequest struct {
	// App is the name of the app this instance serves.
	App string `json:"app"`
	// Plugin is the plug-in's name in the catalog.
	Plugin string `json:"plugin"`
	// Config is the app's config block for this plug-in, as JSON. Decode it
	// with [ConfigureRequest.Decode].
	Config json.RawMessage `json:"config,omitempty"`
	// Keys are signing keys the host hands to plug-ins that sign assertions
	// for backends, newest first: sign with Keys[0]. The gateway publishes
	// their public halves (see [JWKS]). Empty unless the host has keys.
	Keys []SigningKey `json:"keys,omitempty"`
	// CheckOnly says the host only checks the config and closes the
	// plug-in again: the gateway does this for sign-on plug-ins, which
	// run at connectors. Check what can be checked anywhere, but do not
	// require files or services that exist only where the plug-in really
	// runs (a connector's keytab or key file). A constructor may return
	// nil and no error for a config it accepts: no call follows a check.
	CheckOnly bool `json:"check_only,omitempty"`

	// Log writes to the host's log, tagged with the plug-in's and the app's
	// name. Never log a secret, a token or a password. Never nil in a
	// constructor called by [Serve].
	Log *slog.Logger `json:"-"`
}

// ConfigureResponse is a plug-in's answer to Configure. [Serve] fills it
// in.
type ConfigureResponse struct {
	// Capabilities are the optional parts of the protocol the plug-in
	// declared in [Plugin.Capabilities] that apply to the kind configured.
	// A host gives a plug-in what a capability carries only if it is here.
	Capabilities []Capability `json:"capabilities,omitempty"`
}

// Decode stores the config block in the struct v points to, strictly: a key
// v has no field for, or a value of the wrong type, is an error that names
// the key ("jwt.ttl: expected a duration like \"60s\", got a number").
// Keys are matched to fields by their json tag (or the field name), case
// sensitively. A time.Duration field takes a string such as "90s"; a field
// whose type implements encoding.TextUnmarshaler takes a string. A missing
// or null config leaves v as it is, so set defaults before calling Decode.
// Every problem is reported, not only the first.
func (r ConfigureRequest) Decode(v any) error {
	return decodeConfig(r.Config, v)
}

// A FieldError is a problem with one key of a plug-in's config. The host
// reports it with the app's and the plug-in's name.
type FieldError struct {
	Field   string // dotted path: "jwt.ttl", "keys[2].subject"; "" for the whole block
	Problem string // what is wrong and what was expected
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// FieldErrorf is a [FieldError] for field; use it for checks Decode cannot
// do itself (a required key, a value out of range).
func FieldErrorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
