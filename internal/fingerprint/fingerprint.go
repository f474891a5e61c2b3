// Package fingerprint is the one way Gatehouse decides "did this
// component's config change?" on a reload. Of digests a config section in
// a canonical form, its JSON encoding (struct fields in declaration order,
// map keys sorted, byte slices as base64), so equal digests mean equal
// configs whatever map order or pointer identity they were built with,
// and the component keeps running as it is. The gateway asks it for its
// Authenticator plug-ins, sign_on checks, WASM filters and the settings
// that need a restart; the connector for each app's transport.
//
// JSON is the form these sections travel in (to plug-ins, to filters,
// through the tunnel), so two configs with one digest are the same to the
// component that receives them.
package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// A Sum is the digest of a config section, in hex.
type Sum string

// Of returns the digest of parts, taken together in order (a component's
// config is often a catalog entry plus the per-use section). It fails
// only for a value JSON cannot encode (a channel, a function, NaN).
func Of(parts ...any) (Sum, error) {
	b, err := json.Marshal(parts)
	if err != nil {
		return "", fmt.Errorf("fingerprint of a config section: %w", err)
	}
	h := sha256.Sum256(b)
	return Sum(hex.EncodeToString(h[:])), nil
}

// Same reports whether a and b are the same config. A value that cannot
// be digested is never the same as anything: the caller rebuilds.
func Same(a, b any) bool {
	x, err := Of(a)
	if err != nil {
		return false
	}
	y, err := Of(b)
	return err == nil && x == y
}
