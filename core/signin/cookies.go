package signin

import (
	"net/http"
	"strings"
)

// StripCookies removes the gateway's own cookies from a request's Cookie
// headers, leaving every other cookie as the client wrote it: a backend
// (or a plug-in) never sees a session.
func StripCookies(h http.Header) {
	vs, ok := h["Cookie"]
	if !ok {
		return
	}
	var kept []string
	for _, line := range vs {
		if !strings.Contains(line, cookiePrefix) {
			kept = append(kept, line)
			continue
		}
		var parts []string
		for p := range strings.SplitSeq(line, ";") {
			if !strings.HasPrefix(strings.TrimSpace(p), cookiePrefix) {
				parts = append(parts, strings.TrimSpace(p))
			}
		}
		if len(parts) > 0 {
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = kept
}

// foreignCookies drops Set-Cookie lines that would set one of the
// gateway's own cookies: a plug-in cannot plant a session.
func foreignCookies(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), cookiePrefix) {
			out = append(out, l)
		}
	}
	return out
}
