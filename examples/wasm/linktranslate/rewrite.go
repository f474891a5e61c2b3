package main

import (
	"bytes"
	"strings"
)

// rewriter turns the URLs of its mappings' "from" side into their "to"
// side wherever they appear in text: plain (http://host), JSON- and
// JavaScript-escaped (http:\/\/host, http:\u002F\u002Fhost),
// percent-encoded (http%3A%2F%2Fhost, as in a redirect_uri parameter) and
// scheme-relative (//host). A match must end at a URL boundary, so
// http://app.corp does not match http://app.corp.evil.example or
// http://app.corp:81.
type rewriter struct {
	mappings []mapping
	hosts    []string // distinct from-hosts
}

func newRewriter(ms []mapping) *rewriter {
	r := &rewriter{mappings: ms}
	for _, m := range ms {
		if !strings.Contains(strings.Join(r.hosts, "\x00")+"\x00", m.from.host+"\x00") {
			r.hosts = append(r.hosts, m.from.host)
		}
	}
	return r
}

// form is one way of writing a URL's punctuation.
type form struct{ colon, slash string }

// forms are compared case-insensitively (%2f, \u002f).
var forms = []form{
	{":", "/"},
	{":", `\/`},
	{":", `\u002F`},
	{"%3A", "%2F"},
}

// rewrite returns b with the URLs translated, and whether any was.
func (r *rewriter) rewrite(b []byte) ([]byte, bool) {
	var out []byte
	last := 0
	next := make([]int, len(r.hosts)) // next occurrence of each host at or after pos, -1 none
	for i := range next {
		next[i] = -2
	}
	pos := 0
	for {
		hit, host := -1, ""
		for i, h := range r.hosts {
			if next[i] == -2 || next[i] >= 0 && next[i] < pos {
				next[i] = indexFrom(b, h, pos)
			}
			if next[i] >= 0 && (hit < 0 || next[i] < hit) {
				hit, host = next[i], h
			}
		}
		if hit < 0 {
			break
		}
		start, end, repl, ok := r.matchAt(b, hit, host)
		if !ok || start < last {
			pos = hit + 1
			continue
		}
		out = append(append(out, b[last:start]...), repl...)
		last, pos = end, end
	}
	if out == nil {
		return b, false
	}
	return append(out, b[last:]...), true
}

// String rewrites s.
func (r *rewriter) String(s string) string {
	b, ok := r.rewrite([]byte(s))
	if !ok {
		return s
	}
	return string(b)
}

func indexFrom(b []byte, s string, pos int) int {
	i := bytes.Index(b[pos:], []byte(s))
	if i < 0 {
		return -1
	}
	return pos + i
}

// matchAt tries every mapping of host and every form at the host found at
// b[at:], returning the span to replace and its replacement.
func (r *rewriter) matchAt(b []byte, at int, host string) (start, end int, repl []byte, ok bool) {
	for _, m := range r.mappings {
		if m.from.host != host {
			continue
		}
		for _, f := range forms {
			if start, end, repl, ok = matchForm(b, at, m, f); ok {
				return
			}
		}
	}
	return 0, 0, nil, false
}

func matchForm(b []byte, at int, m mapping, f form) (start, end int, repl []byte, ok bool) {
	// Before the host: scheme://, or // not preceded by another scheme.
	slashes := f.slash + f.slash
	if !hasSuffixFold(b[:at], slashes) {
		return 0, 0, nil, false
	}
	start = at - len(slashes)
	withScheme := m.from.scheme + f.colon
	switch {
	case hasSuffixFold(b[:start], withScheme):
		start -= len(withScheme)
		if start > 0 && isSchemeByte(b[start-1]) { // e.g. xhttp://
			return 0, 0, nil, false
		}
	case hasSuffixFold(b[:start], f.colon):
		return 0, 0, nil, false // another scheme
	default:
		withScheme = "" // scheme-relative
	}
	// The port.
	end = at + len(m.from.host)
	rest := b[end:]
	if m.from.port != "" {
		p := f.colon + m.from.port
		if !hasPrefixFold(rest, p) {
			return 0, 0, nil, false
		}
		end += len(p)
	} else if p := f.colon + defaultPort(m.from.scheme); withScheme != "" && hasPrefixFold(rest, p) {
		end += len(p)
	}
	if hasPrefixFold(b[end:], f.colon) || end < len(b) && isHostByte(b[end]) {
		return 0, 0, nil, false // another port or a longer host name
	}
	// The base path, ending at a path boundary.
	if m.from.path != "" {
		p := strings.ReplaceAll(m.from.path, "/", f.slash)
		if !hasPrefixFold(b[end:], p) {
			return 0, 0, nil, false
		}
		end += len(p)
		if end < len(b) && isPathByte(b[end]) {
			return 0, 0, nil, false
		}
	}
	var out []byte
	if withScheme != "" {
		out = append(out, m.to.scheme+f.colon...)
	}
	out = append(out, slashes+m.to.host...)
	if m.to.port != "" {
		out = append(out, f.colon+m.to.port...)
	}
	out = append(out, strings.ReplaceAll(m.to.path, "/", f.slash)...)
	return start, end, out, true
}

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '.' || c == '-'
}
func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}
func isPathByte(c byte) bool { return isHostByte(c) || c == '~' }

func hasSuffixFold(b []byte, s string) bool {
	return len(b) >= len(s) && strings.EqualFold(string(b[len(b)-len(s):]), s)
}

func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && strings.EqualFold(string(b[:len(s)]), s)
}
