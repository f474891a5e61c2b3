package signin

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// The gateway's cookies all begin with cookiePrefix. No backend may see
// one (another app's session would let it act as the user there) or set
// one (a planted session or state cookie: session fixation), so a name is
// the gateway's if a browser or a backend could take it for one: whatever
// its case (browsers compare the __Host- prefix without case since
// RFC 6265bis), percent-encoded (PHP decodes names), with "_", ".", " "
// or "[" for "-" (PHP turns ". [" into "_"), in quotes or padded, or as
// the value of a nameless cookie (which a browser sends as its bare value).

// GatewayCookie reports whether a cookie name is, or may be read as, one
// of the gateway's own.
func GatewayCookie(name string) bool {
	for range 3 { // "%255F" is "%5F" once decoded, then "_"
		if foldedIsGateway(name) {
			return true
		}
		dec, err := url.QueryUnescape(name)
		if err != nil || dec == name {
			return false
		}
		name = dec
	}
	return foldedIsGateway(name)
}

// gatewayCookieFolded is cookiePrefix as foldCookieName folds it.
var gatewayCookieFolded = foldCookieName(cookiePrefix)

// foldedIsGateway is strings.HasPrefix(foldCookieName(name),
// gatewayCookieFolded) rune by rune, without allocating: every request
// with a cookie asks it. (strings.ToLower is unicode.ToLower of each rune,
// and what it turns into non-ASCII, invalid bytes included, never matches
// the ASCII prefix either way.)
func foldedIsGateway(name string) bool {
	want := gatewayCookieFolded
	for _, r := range strings.TrimFunc(name, cookieNameTrim) {
		if want == "" {
			return true
		}
		switch r = unicode.ToLower(r); r {
		case '_', '.', ' ', '[':
			r = '-'
		}
		if r != rune(want[0]) {
			return false
		}
		want = want[1:]
	}
	return want == ""
}

// cookieNameTrim is what foldCookieName trims: spaces, control bytes and
// quotes.
func cookieNameTrim(r rune) bool { return r <= ' ' || r == '"' || r == 0x7f }

// foldCookieName trims a name of spaces, control bytes and quotes,
// lower-cases it and writes "-" for each of "_. [".
func foldCookieName(name string) string {
	name = strings.TrimFunc(name, cookieNameTrim)
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		switch c {
		case '_', '.', ' ', '[':
			b[i] = '-'
		}
	}
	return string(b)
}

// pairIsGateway reports whether one cookie-pair (name=value, or a bare
// value) sets or carries a gateway cookie. A pair with an empty name is
// sent by browsers as its value alone, which then names the cookie.
func pairIsGateway(pair string) bool {
	name, value, _ := strings.Cut(pair, "=")
	if GatewayCookie(name) {
		return true
	}
	if strings.TrimSpace(name) == "" {
		n, _, _ := strings.Cut(value, "=")
		return GatewayCookie(n)
	}
	return false
}

// mayHoldGatewayCookie is a quick test that lets the common line through
// untouched: every spelling of a gateway cookie holds "gatehouse" in some
// case, or a "%" that may encode it.
func mayHoldGatewayCookie(s string) bool {
	if strings.IndexByte(s, '%') >= 0 {
		return true
	}
	const word = "gatehouse" // without allocating: most requests carry cookies
	for i := 0; i+len(word) <= len(s); i++ {
		if s[i]|0x20 == 'g' && strings.EqualFold(s[i:i+len(word)], word) {
			return true
		}
	}
	return false
}

// CleanCookie returns a Cookie header line without the gateway's cookies,
// and whether anything is left. Servers that still split cookies on ","
// (RFC 2965) are covered too: a pair whose any ","-separated part is a
// gateway cookie goes as a whole.
func CleanCookie(line string) (string, bool) {
	if !mayHoldGatewayCookie(line) {
		return line, true
	}
	var parts []string
	for p := range strings.SplitSeq(line, ";") {
		gw := false
		for q := range strings.SplitSeq(p, ",") {
			if pairIsGateway(q) {
				gw = true
				break
			}
		}
		if p = strings.TrimSpace(p); !gw && p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "; "), len(parts) > 0
}

// StripCookies removes the gateway's own cookies from a request's Cookie
// headers, leaving every other cookie as the client wrote it: a backend
// (or a plug-in) never sees a session.
func StripCookies(h http.Header) {
	for k, vs := range h {
		if !strings.EqualFold(k, "Cookie") {
			continue
		}
		var kept []string
		for _, line := range vs {
			if c, ok := CleanCookie(line); ok {
				kept = append(kept, c)
			}
		}
		if len(kept) == 0 {
			delete(h, k)
		} else {
			h[k] = kept
		}
	}
}

// ForeignSetCookies returns the Set-Cookie lines that would not set one
// of the gateway's own cookies: neither a plug-in nor a backend can plant
// a session. It returns lines itself when all of them stay.
func ForeignSetCookies(lines []string) []string {
	for i, l := range lines {
		if mayHoldGatewayCookie(l) && setsGatewayCookie(l) {
			out := append([]string(nil), lines[:i]...)
			for _, l := range lines[i+1:] {
				if !mayHoldGatewayCookie(l) || !setsGatewayCookie(l) {
					out = append(out, l)
				}
			}
			return out
		}
	}
	return lines
}

// setsGatewayCookie reports whether a Set-Cookie line's cookie-pair (what
// comes before the first ";") is a gateway cookie.
func setsGatewayCookie(line string) bool {
	pair, _, _ := strings.Cut(line, ";")
	return pairIsGateway(pair)
}

// foreignCookies is ForeignSetCookies for a plug-in's challenge.
func foreignCookies(lines []string) []string { return ForeignSetCookies(lines) }
