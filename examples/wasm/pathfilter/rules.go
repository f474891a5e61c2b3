package main

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Config is the filter's JSON config.
type Config struct {
	// Allow: when not empty, only paths matching one of these pass.
	Allow []string `json:"allow"`
	// Deny: paths matching one of these are refused, even if allowed.
	Deny []string `json:"deny"`
	// CaseInsensitive matches /ADMIN like /admin (for backends that do).
	CaseInsensitive bool `json:"case_insensitive"`
	// Status of the refusal, default 403; Message its text, default
	// "Forbidden".
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// rules is a checked Config.
type rules struct {
	allow, deny []string
	fold        bool
	status      int
	message     string
}

// compile checks the patterns. A pattern is an absolute path; without
// glob characters it matches that path and everything below it (/admin
// matches /admin and /admin/x, not /administrator). With them, * ? and
// [..] match within one segment, as in path.Match, and a ** segment
// matches any number of segments.
func (c Config) compile() (*rules, error) {
	r := &rules{allow: c.Allow, deny: c.Deny, fold: c.CaseInsensitive, status: c.Status, message: c.Message}
	if r.status == 0 {
		r.status = 403
	}
	if r.message == "" {
		r.message = "Forbidden"
	}
	var errs []error
	if r.status < 400 || r.status > 599 {
		errs = append(errs, fmt.Errorf("status: %d is not a 4xx or 5xx status", r.status))
	}
	check := func(field string, ps []string) {
		for i, p := range ps {
			if !strings.HasPrefix(p, "/") {
				errs = append(errs, fmt.Errorf("%s[%d]: %q does not start with /", field, i, p))
				continue
			}
			for _, seg := range segments(p) {
				if _, err := path.Match(seg, ""); err != nil {
					errs = append(errs, fmt.Errorf("%s[%d]: %q: %w", field, i, p, err))
				}
			}
			if r.fold {
				ps[i] = strings.ToLower(p)
			}
		}
	}
	check("allow", r.allow)
	check("deny", r.deny)
	return r, errors.Join(errs...)
}

// decide says whether the request URI may pass, and why not. The path is
// decoded, its ;parameters dropped (Tomcat ignores them), and cleaned, so
// /a/%2e%2e/admin, //admin and /admin;x=1 are all /admin.
func (r *rules) decide(uri string) (ok bool, reason string) {
	raw, _, _ := strings.Cut(uri, "?")
	p, err := url.PathUnescape(raw)
	if err != nil {
		return false, "the path is not validly encoded"
	}
	if strings.ContainsAny(p, "\x00\\") {
		return false, "the path has a NUL or a backslash"
	}
	segs := segments(p)
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	p = path.Clean("/" + strings.Join(segs, "/"))
	if r.fold {
		p = strings.ToLower(p)
	}
	for _, d := range r.deny {
		if match(d, p) {
			return false, "denied by " + d
		}
	}
	if len(r.allow) == 0 {
		return true, ""
	}
	for _, a := range r.allow {
		if match(a, p) {
			return true, ""
		}
	}
	return false, "not allowed"
}

func segments(p string) []string {
	var out []string
	for s := range strings.SplitSeq(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// match reports whether the clean path p matches pattern.
func match(pattern, p string) bool {
	ps, segs := segments(pattern), segments(p)
	if !strings.ContainsAny(pattern, "*?[") {
		if len(segs) < len(ps) {
			return false
		}
		for i := range ps {
			if ps[i] != segs[i] {
				return false
			}
		}
		return true
	}
	return matchSegments(ps, segs)
}

func matchSegments(ps, segs []string) bool {
	for len(ps) > 0 {
		if ps[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegments(ps[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(ps[0], segs[0]); !ok {
			return false
		}
		ps, segs = ps[1:], segs[1:]
	}
	return len(segs) == 0
}
