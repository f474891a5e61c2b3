package target

import (
	"net"
	"strings"
)

// Host reads a Host header (or HTTP/2 :authority): name is the host name
// the app is found by — lower case, without a final dot or the port —
// and canonical is what the backend and X-Forwarded-Host get (the name,
// and ":port" when one was given). ok is false for anything but a DNS
// name with an optional numeric port: empty, user-info ("a@b"), an IP
// literal in brackets, other characters, empty labels.
func Host(header string) (name, canonical string, ok bool) {
	h, port := header, ""
	if i := strings.LastIndexByte(header, ':'); i >= 0 {
		h, port = header[:i], header[i+1:]
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return "", "", false
		}
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 || h[len(h)-1] == '.' {
		return "", "", false
	}
	lower := true
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case 'A' <= c && c <= 'Z':
			lower = false
		case c == '.':
			if i == 0 || h[i-1] == '.' {
				return "", "", false
			}
		default:
			return "", "", false
		}
	}
	if !lower {
		h = strings.ToLower(h)
	}
	canonical = h
	if port != "" {
		canonical = h + ":" + port
	}
	return h, canonical, true
}

// Misdirected reports whether a request for host name arrived on a TLS
// connection whose server name (SNI) is another host: a browser that
// reuses a connection for a second host its certificate also covers
// (HTTP/2 connection coalescing) expects 421 and retries on a connection
// of its own; a client that names one host in the handshake and another
// in the request gets the same. No SNI (a client that sent none) is not
// misdirected: the Host header decides alone. Nor is an IP address as the
// server name, which RFC 6066 forbids but some clients (wrk, through
// OpenSSL) send when the URL names an address: no app is published on an
// address, so it cannot name another app.
func Misdirected(sni, name string) bool {
	if sni == "" || net.ParseIP(strings.Trim(sni, "[]")) != nil {
		return false
	}
	sni = strings.TrimSuffix(sni, ".")
	return !strings.EqualFold(sni, name)
}
