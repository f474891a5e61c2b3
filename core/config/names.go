package config

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strings"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// checkName checks a connector group or app name; what is "app" or
// "connector group". It returns "" when name is valid.
func checkName(name, what string) string {
	if nameRE.MatchString(name) {
		return ""
	}
	msg := fmt.Sprintf(`%q is not a valid %s name (use 1-63 lower-case letters, digits and "-", starting with a letter or digit)`, name, what)
	if lower := strings.ToLower(name); nameRE.MatchString(lower) {
		msg += fmt.Sprintf("; write %q", lower)
	}
	return msg
}

// checkHost validates an app's external host name and returns it in lower
// case, or a message saying what is wrong.
//
// IP literals are rejected: apps are told apart by host name (the TLS SNI
// and the Host header), SNI cannot carry an IP address (RFC 6066), and
// self-signed mode issues one certificate per host name. Ports, schemes,
// paths are rejected because Host is only a name; the port is the public
// listener's and the path belongs in path_prefix. A wildcard host
// ("*.apps.example.com") is checked by checkWildcardHost.
func checkHost(s string) (string, string) {
	h := strings.ToLower(s)
	switch {
	case strings.Contains(h, "://"):
		bare, _, _ := strings.Cut(h[strings.Index(h, "://")+3:], "/")
		return "", fmt.Sprintf("%q has a scheme; write only the host name, e.g. %q", s, bare)
	case strings.Contains(h, "*"):
		return checkWildcardHost(s, h) // wildcard.go
	case isIPLiteral(h):
		return "", fmt.Sprintf("%q is an IP address; apps are routed by host name (TLS SNI and the Host header), so use a DNS name", s)
	case strings.Contains(h, "/"):
		return "", fmt.Sprintf("%q has a path; write only the host name and put the path in path_prefix", s)
	case strings.Contains(h, ":"):
		return "", fmt.Sprintf("%q has a port; write only the host name (users connect to the port of listen.public)", s)
	}
	if msg := dnsNameProblem(h); msg != "" {
		return "", fmt.Sprintf("%q is not a valid host name: %s", s, msg)
	}
	return h, ""
}

// checkServerName validates a TLS server name for a backend: a DNS name
// (returned in lower case) or an IP address, which Go's TLS client checks
// against the certificate's IP SANs.
func checkServerName(s string) (string, string) {
	if net.ParseIP(s) != nil {
		return s, ""
	}
	h := strings.ToLower(s)
	if msg := dnsNameProblem(h); msg != "" {
		return "", fmt.Sprintf("%q is not a valid server name: %s (write the DNS name in the backend's certificate)", s, msg)
	}
	return h, ""
}

// isIPLiteral reports whether h is an IP address, bracketed or not, with or
// without a port.
func isIPLiteral(h string) bool {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return net.ParseIP(strings.Trim(h, "[]")) != nil
}

// dnsNameProblem checks a lower-case DNS host name and says what is wrong,
// or returns "".
func dnsNameProblem(h string) string {
	switch {
	case h == "":
		return "it is empty"
	case strings.HasSuffix(h, "."):
		return "remove the trailing dot"
	case len(h) > 253:
		return "it is longer than 253 characters"
	}
	labels := strings.Split(h, ".")
	for _, label := range labels {
		if label == "" {
			return "it has an empty label (a leading dot or two dots in a row)"
		}
		if len(label) > 63 {
			return fmt.Sprintf("label %q is longer than 63 characters", label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Sprintf(`it contains %q; use only letters, digits, "-" and dots`, r)
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Sprintf(`label %q starts or ends with "-"`, label)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "its last label is all digits"
	}
	return ""
}

// checkPathPrefix validates a path prefix and returns it without a
// trailing slash ("/" stays "/").
func checkPathPrefix(p string) (string, string) {
	switch {
	case !strings.HasPrefix(p, "/"):
		return "", fmt.Sprintf(`%q must start with "/" (write %q)`, p, "/"+p)
	case strings.ContainsAny(p, "?#"):
		return "", fmt.Sprintf(`%q contains "?" or "#"; a path prefix is a path only, without query or fragment`, p)
	case strings.Contains(p, ".."):
		return "", fmt.Sprintf(`%q contains ".."; write the path without it`, p)
	}
	trimmed := strings.TrimRight(p, "/")
	if trimmed == "" {
		return "/", ""
	}
	if clean := path.Clean(trimmed); clean != trimmed {
		return "", fmt.Sprintf("%q is not a clean path (write %q)", p, clean)
	}
	return trimmed, ""
}
