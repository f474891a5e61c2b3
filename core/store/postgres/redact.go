package postgres

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// masked replaces a password in messages.
const masked = "xxxxx"

var (
	// keywordPassword finds password=... in a "key=value" DSN, quoted
	// ('it''s' is not libpq syntax; \' and \\ are) or not.
	keywordPassword = regexp.MustCompile(`password\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))`)
	// queryPassword finds password=... among a URL's query parameters.
	queryPassword = regexp.MustCompile(`[?&]password=([^&#]*)`)
)

// Redact returns text with every password that dsn may hold replaced by
// "xxxxx". It errs on the side of masking: for a DSN too broken to parse,
// every reading of it that could be a password is masked, raw and
// unescaped, longest first.
func Redact(text, dsn string) string {
	pws := passwords(dsn)
	slices.SortFunc(pws, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, pw := range pws {
		if pw != "" {
			text = strings.ReplaceAll(text, pw, masked)
		}
	}
	return text
}

// passwords lists what in dsn could be a password.
func passwords(dsn string) []string {
	var out []string
	add := func(raw string, unescape func(string) (string, error)) {
		out = append(out, raw)
		if u, err := unescape(raw); err == nil && u != raw {
			out = append(out, u)
		}
	}
	// URL: the userinfo is before an '@'; which '@' is unclear in a
	// broken URL, so take every one.
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		for i := range len(rest) {
			if rest[i] != '@' {
				continue
			}
			if _, pw, ok := strings.Cut(rest[:i], ":"); ok {
				add(pw, url.PathUnescape)
			}
		}
		for _, m := range queryPassword.FindAllStringSubmatch(rest, -1) {
			add(m[1], url.QueryUnescape)
		}
	}
	for _, m := range keywordPassword.FindAllStringSubmatch(dsn, -1) {
		if m[1] != "" {
			add(m[1], unquote)
		}
		if m[2] != "" {
			add(m[2], unquote)
		}
	}
	return out
}

// unquote undoes libpq's backslash escapes in a quoted value.
func unquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}
