package httphead

import (
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The header names the gateway treats specially. Every comparison ignores
// ASCII case; a name with "_" matches none of them, because such names
// never leave the gateway at all (see Underscored).

// Underscored reports whether a header name holds "_". CGI, PHP, WSGI and
// many frameworks read X_Remote_User and X-Remote-User as the same
// variable (HTTP_X_REMOTE_USER), so a client could slip a twin past any
// check that compares names; nginx drops such headers by default for the
// same reason (underscores_in_headers off).
func Underscored(k string) bool { return strings.IndexByte(k, '_') >= 0 }

// Gatehouse reports whether k is one of the gateway's own headers
// (X-Gatehouse-*): only the gateway sets them, and none leaves it.
func Gatehouse(k string) bool { return HasPrefixFold(k, "X-Gatehouse-") }

// identityPrefixes and identityNames are the headers that backends and
// the auth proxies they usually sit behind (Apache, Authelia,
// oauth2-proxy, Grafana's auth proxy) take a user's identity from.
var (
	identityPrefixes = [...]string{"Remote-", "X-Remote-", "X-Auth-Request-", "X-Webauth-"}
	identityNames    = [...]string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups",
		"X-Forwarded-Preferred-Username", "X-Forwarded-Access-Token"}
)

// Identity reports whether k is a common identity header: Remote-*,
// X-Remote-*, X-Auth-Request-*, X-Webauth-*, or X-Forwarded-User, -Email,
// -Groups, -Preferred-Username or -Access-Token.
func Identity(k string) bool {
	for _, p := range identityPrefixes {
		if HasPrefixFold(k, p) {
			return true
		}
	}
	for _, n := range identityNames {
		if EqualFold(k, n) {
			return true
		}
	}
	return false
}

// GatewaySet reports whether k is a header the gateway sets on every
// request it relays: X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto
// and X-Request-Id.
func GatewaySet(k string) bool {
	return EqualFold(k, "X-Forwarded-For") || EqualFold(k, "X-Forwarded-Host") ||
		EqualFold(k, "X-Forwarded-Proto") || EqualFold(k, "X-Request-Id")
}

// hopByHop are the headers that httputil.ReverseProxy always removes.
var hopByHop = [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// HopByHop reports whether k is a hop-by-hop header.
func HopByHop(k string) bool {
	for _, h := range hopByHop {
		if EqualFold(k, h) {
			return true
		}
	}
	return false
}

// TrailerRefusal says why k may never be let through as a request
// trailer, or "" if an app may allow it.
func TrailerRefusal(k string) string {
	switch {
	case !ValidName(k):
		return "is not a header name (letters, digits and !#$%&'*+-.^`|~ only)"
	case Underscored(k):
		return `holds "_", and headers with "_" never reach a backend`
	case Gatehouse(k):
		return "is a Gatehouse header (X-Gatehouse-*), which only the gateway sets"
	case Identity(k):
		return "is an identity header, which a client may never send to a backend"
	case GatewaySet(k):
		return "is set by the gateway on every request"
	case HopByHop(k), EqualFold(k, "Cookie"), EqualFold(k, "Set-Cookie"), !httpguts.ValidTrailerHeader(k):
		return "may not be sent as a trailer (RFC 9110, section 6.5.1)"
	}
	return ""
}

// HasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func HasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && EqualFold(s[:len(prefix)], prefix)
}
