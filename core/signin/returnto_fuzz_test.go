package signin

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturn feeds arbitrary return addresses (the ?return= of the
// start page, the vault form's field, the one kept in the state cookie) to
// safeReturn. Whatever it returns is written as the Location of a
// redirect; a browser that follows it from https://app.example/ must stay
// on https://app.example, and the value must hold no control character.
// The same must hold if it went through http.Redirect, which cleans the
// path again ("/./\evil" became "/\evil" that way).
func FuzzSafeReturn(f *testing.F) {
	base, _ := url.Parse("https://app.example/")
	f.Fuzz(func(t *testing.T, p string) {
		loc := safeReturn(p, "/app/")
		if strings.ContainsFunc(loc, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Fatalf("safeReturn(%q) = %q: a control character in a Location", p, loc)
		}
		w := httptest.NewRecorder()
		http.Redirect(w, httptest.NewRequest("GET", "https://app.example/.gatehouse/auth/hr/start", nil), loc, http.StatusSeeOther)
		for _, l := range []string{loc, w.Header().Get("Location")} {
			u, err := browserResolve(base, l)
			if err != nil {
				t.Fatalf("safeReturn(%q) = %q, Location %q does not parse: %v", p, loc, l, err)
			}
			if u.Scheme != "https" || u.Host != "app.example" || u.User != nil {
				t.Fatalf("safeReturn(%q) = %q, Location %q, which a browser resolves to %s: another origin", p, loc, l, u)
			}
		}
	})
}

// browserResolve resolves loc, a Location header value, against base
// (https) as a browser's URL parser does, quirks included: leading and
// trailing C0 controls and spaces are stripped, tabs and line breaks
// removed anywhere, a backslash before the query is a slash, and any run
// of slashes after "scheme:" or at the start of a relative reference
// introduces a host ("///evil" and "https:/\evil" go to evil). It errs on
// the side of another origin: any scheme is taken as absolute.
func browserResolve(base *url.URL, loc string) (*url.URL, error) {
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	loc = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, loc)
	end := strings.IndexAny(loc, "?#")
	if end < 0 {
		end = len(loc)
	}
	loc = strings.ReplaceAll(loc[:end], `\`, "/") + loc[end:]
	if scheme, rest, ok := strings.Cut(loc, ":"); ok && validScheme(scheme) {
		if s := strings.ToLower(scheme); s == "http" || s == "https" || s == "ws" || s == "wss" || s == "ftp" || s == "file" {
			loc = s + "://" + strings.TrimLeft(rest, "/")
		}
	} else if strings.HasPrefix(loc, "//") {
		loc = "//" + strings.TrimLeft(loc, "/")
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(ref), nil
}

// validScheme reports whether s is a URL scheme: a letter, then letters,
// digits, "+", "-" or ".".
func validScheme(s string) bool {
	if s == "" || !('a' <= s[0]|0x20 && s[0]|0x20 <= 'z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// TestBrowserResolve checks the model of a browser FuzzSafeReturn relies
// on: a model that let these through would make the fuzz target blind.
func TestBrowserResolve(t *testing.T) {
	base, _ := url.Parse("https://app.example/")
	for _, tc := range []struct{ loc, host string }{
		{"/x", "app.example"},
		{"x/y?z#w", "app.example"},
		{"/a/../b", "app.example"},
		{"/x?\\\\evil", "app.example"},
		{"//evil", "evil"},
		{"/\\evil", "evil"},
		{"\\\\evil", "evil"},
		{"///evil", "evil"},
		{"/\t/evil", "evil"},
		{"/\r\n/evil", "evil"},
		{" \x01//evil", "evil"},
		{"https://evil", "evil"},
		{"https:/\\evil", "evil"},
		{"HTTPS:evil", "evil"},
		{"javascript:alert(1)", ""},
	} {
		u, err := browserResolve(base, tc.loc)
		if err != nil || u.Host != tc.host {
			t.Errorf("browserResolve(%q) = %v, %v; want host %q", tc.loc, u, err, tc.host)
		}
	}
}
