// Package target decides what a request's target means to the gateway:
// which path it names and on which host. It is the one place where a path
// is checked and normalised, once, at the edge, before routing: the route
// match, the path prefix the connector replaces, the access rule (CEL),
// the WASM filters and the backend all see the path this package returns,
// so that no two of them can read one request two ways.
//
// Always refused (400): a path that does not start with "/"; ";" in any
// segment, raw or as %3B (path parameters, which Tomcat, Jetty and Spring
// strip: /hr/..;/admin); a dot segment in any spelling ("." or "..", as
// %2e or %2E, mixed, with "\" or %5C counted as a separator, and segments
// made only of dots and spaces, which Windows reads as dot segments);
// control characters, raw or encoded (%00, %0d, ...); raw bytes outside
// ASCII; malformed escapes; a decoded path that is not valid UTF-8 (which
// refuses overlong forms such as %C0%AE, an old IIS traversal); and
// double encoding, an escape that decodes to another escape (%252e),
// which a backend that decodes twice would read again.
//
// Refused unless the app keeps them: encoded "/" and "\" (%2F, %5C, any
// case). Always merged: runs of "/" (//a///b is /a/b). Case: kept, and
// compared exactly, unless the app's backend folds case (IIS): then
// prefixes match without regard to case, the access rule sees the path in
// lower case, and names that Windows would read as another name (a
// trailing dot or space, an 8.3 short name such as ADMINI~1) are refused.
//
// The reserved space /.gatehouse/ is Gatehouse's on every published host:
// any spelling a backend could read as it (any case, doubled slashes,
// encoded dots, no trailing slash, a trailing dot or space) is reported
// as Reserved, so the gateway answers it and no backend sees it.
package target

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/core/reserved"
)

// Reserved is the gateway's own path space on every published host
// (package reserved owns it).
const Reserved = reserved.Prefix

// A Path is a request path the gateway accepts.
type Path struct {
	// Escaped is the path as it goes to the backend: as the client sent
	// it, with runs of "/" merged.
	Escaped string
	// Decoded is Escaped with its escapes decoded: what routing and the
	// access rule compare.
	Decoded string
	// EscapedSlash says Escaped holds %2F or %5C, which only apps that
	// keep escaped slashes accept.
	EscapedSlash bool
	// Reserved says the path is in /.gatehouse/ in some spelling.
	Reserved bool
}

// Options are an app's choices about paths.
type Options struct {
	// FoldCase: the backend reads paths without regard to case (IIS).
	FoldCase bool
	// KeepEscapedSlashes: %2F and %5C go to the backend as they are.
	KeepEscapedSlashes bool
}

// Error is why a path or host is refused; its text is for the client.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func refuse(reason string) error { return &Error{Reason: reason} }

var (
	errNotAbsolute  = refuse("the path must start with \"/\"")
	errSemicolon    = refuse("the path contains \";\" (a path parameter)")
	errDotSegment   = refuse("the path contains a \".\" or \"..\" segment")
	errControl      = refuse("the path contains a control character")
	errRaw          = refuse("the path contains a byte that must be percent-encoded")
	errEscape       = refuse("the path contains a malformed %-escape")
	errUTF8         = refuse("the path does not decode to valid UTF-8")
	errDouble       = refuse("the path is percent-encoded twice (%25 followed by hex digits)")
	errEscapedSlash = refuse("the path contains an encoded \"/\" or \"\\\" (%2F or %5C)")
	errWindowsName  = refuse("the path contains a name that Windows reads as another (a trailing dot or space, or a short name with \"~\")")
)

// Parse checks an escaped path (a URL's EscapedPath) and returns what it
// means, or an *Error saying why it is refused. An empty path (an
// absolute-form target without one) is "/".
func Parse(escaped string) (Path, error) {
	if escaped == "" {
		escaped = "/"
	}
	if escaped[0] != '/' {
		return Path{}, errNotAbsolute
	}
	merged, plain, slash, err := scan(escaped)
	if err != nil {
		return Path{}, err
	}
	p := Path{Escaped: merged, Decoded: merged, EscapedSlash: slash}
	if !plain {
		if p.Decoded, err = url.PathUnescape(merged); err != nil {
			return Path{}, errEscape
		}
		if !utf8.ValidString(p.Decoded) {
			return Path{}, errUTF8
		}
		if hasEscape(p.Decoded) {
			return Path{}, errDouble
		}
	}
	first, d := true, p.Decoded
	for i := 0; i < len(d); {
		j := i
		for j < len(d) && d[j] != '/' && d[j] != '\\' {
			j++
		}
		if seg := d[i:j]; seg != "" {
			if seg[0] == '.' || seg[0] == ' ' {
				if dotLike(seg) {
					return Path{}, errDotSegment
				}
				if first && strings.EqualFold(strings.TrimRight(seg, ". "), Reserved[1:len(Reserved)-1]) {
					p.Reserved = true
				}
			}
			first = false
		}
		i = j + 1
	}
	return p, nil
}

// scan checks the bytes of an escaped path and merges runs of "/". plain
// says it holds no escapes (so it is its own decoded form); slash that it
// holds an escaped "/" or "\".
func scan(s string) (merged string, plain, slash bool, err error) {
	plain = true
	var b []byte // nil until a "/" is dropped
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < ' ' || c == 0x7f:
			return "", false, false, errControl
		case c >= 0x80 || c == '\\' || c == ' ' || c == '"' || c == '<' || c == '>' || c == '`' ||
			c == '{' || c == '}' || c == '|' || c == '^' || c == '#' || c == '?':
			return "", false, false, errRaw
		case c == ';':
			return "", false, false, errSemicolon
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false, false, errEscape
			}
			plain = false
			switch v := unhex(s[i+1])<<4 | unhex(s[i+2]); {
			case v < ' ' || v == 0x7f:
				return "", false, false, errControl
			case v == ';':
				return "", false, false, errSemicolon
			case v == '/' || v == '\\':
				slash = true
			}
		case c == '/' && i > 0 && s[i-1] == '/':
			if b == nil {
				b = append(make([]byte, 0, len(s)), s[:i]...)
			}
			continue
		}
		if b != nil {
			b = append(b, c)
		}
	}
	if b != nil {
		return string(b), plain, slash, nil
	}
	return s, plain, slash, nil
}

// Check applies an app's options to p: escaped slashes, and the names a
// case-folding (Windows) backend reads as other names.
func (p Path) Check(o Options) error {
	if p.EscapedSlash && !o.KeepEscapedSlashes {
		return errEscapedSlash
	}
	if o.FoldCase {
		for seg := range strings.FieldsFuncSeq(p.Decoded, isSeparator) {
			if strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " ") || shortName(seg) {
				return errWindowsName
			}
		}
	}
	return nil
}

// MatchPrefix reports whether a decoded path is at or below prefix ("/"
// or "/x" without a trailing slash; "/x" matches "/x", "/x/..." and
// "/x\..." but not "/xy"), and how many bytes of the path the prefix
// takes. fold compares without regard to case.
func MatchPrefix(decoded, prefix string, fold bool) (n int, ok bool) {
	if prefix == "/" || prefix == "" {
		return 0, true
	}
	if !fold {
		n = len(prefix)
		if !strings.HasPrefix(decoded, prefix) {
			return 0, false
		}
	} else if n, ok = foldPrefix(decoded, prefix); !ok {
		return 0, false
	}
	if n < len(decoded) && !isSeparator(rune(decoded[n])) {
		return 0, false
	}
	return n, true
}

// foldPrefix is strings.HasPrefix without regard to case (rune by rune,
// as Policy lower-cases), returning the length of the path's part.
func foldPrefix(s, prefix string) (int, bool) {
	i := 0
	for _, pr := range prefix {
		if i >= len(s) {
			return 0, false
		}
		sr, size := utf8.DecodeRuneInString(s[i:])
		if unicode.ToLower(sr) != unicode.ToLower(pr) {
			return 0, false
		}
		i += size
	}
	return i, true
}

// WithPrefix returns p with its first n decoded bytes (a prefix match)
// written as prefix, so the connector finds the prefix as configured.
func (p Path) WithPrefix(prefix string, n int) Path {
	if n == 0 || n == len(prefix) && strings.HasPrefix(p.Escaped, prefix) && p.Decoded[:n] == prefix {
		return p // as configured (the usual case)
	}
	m := escapedLen(p.Escaped, n)
	esc := (&url.URL{Path: prefix}).EscapedPath()
	if p.Escaped[:m] == esc && p.Decoded[:n] == prefix {
		return p
	}
	return Path{Escaped: esc + p.Escaped[m:], Decoded: prefix + p.Decoded[n:], EscapedSlash: p.EscapedSlash, Reserved: p.Reserved}
}

// escapedLen is how many bytes of an escaped path decode to its first n
// decoded bytes.
func escapedLen(escaped string, n int) int {
	i := 0
	for d := 0; d < n && i < len(escaped); d++ {
		if escaped[i] == '%' {
			i += 3
		} else {
			i++
		}
	}
	return i
}

// Policy is the path the access rule sees: the decoded path, in lower
// case when the app folds case.
func Policy(decoded string, fold bool) string {
	if fold {
		return strings.ToLower(decoded)
	}
	return decoded
}

func isSeparator(r rune) bool { return r == '/' || r == '\\' }

// dotLike reports a segment made only of dots and spaces: "." and "..",
// and what Windows reads as them ("...", ". ", ".. ").
func dotLike(seg string) bool {
	return seg != "" && strings.Trim(seg, ". ") == "" && strings.Contains(seg, ".")
}

// shortName reports an 8.3 short name's "~" and digit (ADMINI~1), which
// Windows resolves to the long name it abbreviates.
func shortName(seg string) bool {
	for i := strings.IndexByte(seg, '~'); i >= 0 && i+1 < len(seg); {
		if '0' <= seg[i+1] && seg[i+1] <= '9' {
			return true
		}
		j := strings.IndexByte(seg[i+1:], '~')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// hasEscape reports a "%" and two hex digits in a decoded path.
func hasEscape(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0 && i+2 < len(s); {
		if isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
