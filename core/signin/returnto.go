package signin

import (
	"net/http"
	"net/url"
	"strings"
)

// maxReturn bounds a return address: it travels in the sealed state
// cookie, which must stay under a browser's 4 KiB.
const maxReturn = 2048

// safeReturn is where a sign-in (or the vault page) sends the user back
// to: p made canonical by returnTarget, or fallback (the app's prefix)
// when p is not a path on this host.
func safeReturn(p, fallback string) string {
	if t, ok := returnTarget(p); ok {
		return t
	}
	return fallback
}

// returnTarget parses p, a return address a client chose, and rebuilds it
// as a path (with query and fragment) on this host: dot segments resolved
// (as a browser would, "%2e" included), no scheme, host or user info. It
// refuses anything a browser could read as another origin: "//" or "/\"
// after resolving the dots, a backslash anywhere, encoded ones (%2F, %5C)
// that decode into leading slashes, control characters and spaces (which
// browsers strip, so "/\t/evil" is "//evil"), and non-ASCII bytes
// (browsers send addresses percent-encoded). The result is the exact
// Location to write: nothing cleans it again.
func returnTarget(p string) (string, bool) {
	if p == "" || len(p) > maxReturn || p[0] != '/' || strings.ContainsFunc(p, refusedInReturn) {
		return "", false
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	path := removeDotSegments(u.EscapedPath())
	decoded, err := url.PathUnescape(path)
	if err != nil || !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") ||
		strings.HasPrefix(decoded, "//") || strings.ContainsFunc(decoded, refusedDecoded) {
		return "", false
	}
	if u.ForceQuery || u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if strings.Contains(p, "#") {
		path += "#" + u.EscapedFragment()
	}
	return path, true
}

// refusedInReturn reports characters no return address may hold: controls,
// space, DEL, backslash and anything outside ASCII.
func refusedInReturn(r rune) bool {
	return r <= ' ' || r >= 0x7f || r == '\\'
}

// refusedDecoded reports what a return path may not hold once decoded
// ("%5C", "%09"): a backend or a browser that decodes it could see a
// backslash or strip a control character.
func refusedDecoded(r rune) bool {
	return r < ' ' || r == 0x7f || r == '\\'
}

// removeDotSegments resolves "." and ".." segments of an escaped absolute
// path (RFC 3986, 5.2.4), counting "%2e" as "." the way browsers do.
func removeDotSegments(p string) string {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch strings.ReplaceAll(strings.ToLower(s), "%2e", ".") {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last { // "/a/." and "/a/b/.." end in a slash
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/")
}

// SeeOther redirects to loc, a path from safeReturn, written as is:
// http.Redirect would clean it again, and a cleaned path is not the one
// that was checked ("/x/../\evil" becomes "/\evil").
func SeeOther(w http.ResponseWriter, loc string) {
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}
