// Package wildcard matches host names against wildcard app hosts
// ("*.apps.example.com": any one DNS label in place of the "*") and
// expands the {label} placeholder of a wildcard app's backend URL. The
// gateway (config, routing, certificates) and the connector (backend URL)
// use the same rules, so the label a backend sees is one the gateway
// routed by.
package wildcard

import "strings"

// Placeholder is what a wildcard app's backend URL may contain: the
// connector replaces it with the matched label.
const Placeholder = "{label}"

// IsPattern reports whether host is a wildcard host ("*." and a suffix).
func IsPattern(host string) bool { return strings.HasPrefix(host, "*.") && len(host) > 2 }

// ValidLabel reports whether s is a host-name label as a wildcard
// matches it: 1-63 lower-case letters, digits and "-", not starting or
// ending with "-". No dot, no "%", no "_", no upper case (the gateway
// lower-cases host names before matching).
func ValidLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Label returns the label host puts in place of pattern's "*", and
// whether host matches pattern: exactly one valid label before the
// pattern's suffix. host is a lower-case name without port or final dot.
func Label(pattern, host string) (string, bool) {
	if !IsPattern(pattern) {
		return "", false
	}
	suffix := pattern[1:] // ".apps.example.com"
	label, ok := strings.CutSuffix(host, suffix)
	if !ok || !ValidLabel(label) {
		return "", false
	}
	return label, true
}

// Covers reports whether an app host (exact or wildcard) serves host.
func Covers(appHost, host string) bool {
	if appHost == host {
		return true
	}
	_, ok := Label(appHost, host)
	return ok
}

// Pattern returns the wildcard host that would serve host ("a.b.c" →
// "*.b.c"), and false when host's first label is not a valid label or
// host has fewer than three labels.
func Pattern(host string) (string, bool) {
	label, rest, ok := strings.Cut(host, ".")
	if !ok || !ValidLabel(label) || !strings.Contains(rest, ".") {
		return "", false
	}
	return "*." + rest, true
}

// HasTemplate reports whether a backend URL uses the placeholder.
func HasTemplate(url string) bool { return strings.Contains(url, Placeholder) }

// Expand replaces every placeholder in a backend URL template with
// label. The caller has checked label with ValidLabel.
func Expand(template, label string) string {
	return strings.ReplaceAll(template, Placeholder, label)
}
