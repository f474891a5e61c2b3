// Package httphead writes HTTP/1.1 header fields the way net/http's
// Header.Write does, for the gateway's and the connector's own request and
// response writers: they skip http.Request.Write and http.Response.Write
// on the common path (see RATIONALE.md, "Proxying"), and must still send
// the same bytes. It also reads the one field everything routes by: Host.
package httphead

import (
	"bufio"
	"net"
	"strings"
)

// WriteField writes "k: v\r\n"; v must already be a Value.
func WriteField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// Value is v as http.Header.Write sends it: CR and LF become spaces, and
// leading and trailing spaces, tabs, CRs and LFs go.
func Value(v string) string {
	clean := true
	for i := 0; i < len(v); i++ {
		if v[i] == '\r' || v[i] == '\n' {
			clean = false
			break
		}
	}
	if !clean {
		v = strings.NewReplacer("\n", " ", "\r", " ").Replace(v)
	}
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// ValidName reports whether k is an RFC 9110 token, as a header name must
// be (http.Header.Write drops the others).
func ValidName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// PlainHost reports whether a Host value holds only the bytes of a DNS
// name, an IP literal and a port, which http.Request.Write sends
// unchanged (it converts others to punycode, or drops them).
func PlainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// HasCTL reports whether s holds an ASCII control character, which
// http.Request.Write refuses in a request target.
func HasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// HostName is a Host header's name: without its port, lower-case, without
// a final dot. Apps, sessions and HSTS are all keyed by it.
func HostName(hostHeader string) string {
	if strings.IndexByte(hostHeader, ':') < 0 {
		// no port: skip SplitHostPort, whose error allocates
	} else if h, _, err := net.SplitHostPort(hostHeader); err == nil {
		hostHeader = h
	}
	return strings.TrimSuffix(strings.ToLower(hostHeader), ".")
}

// HasToken reports whether a comma-separated header holds token, compared
// without regard to ASCII case (as httputil.ReverseProxy compares them).
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if EqualFold(strings.Trim(t, " \t\r\n"), token) {
				return true
			}
		}
	}
	return false
}

// EqualFold reports whether a and b are equal regardless of ASCII case
// (and only ASCII: HTTP tokens are ASCII).
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
