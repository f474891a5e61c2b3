package main

import (
	"strings"
)

// urlHeaders are response headers whose values hold URLs.
var urlHeaders = []string{
	"Location", "Content-Location", "Refresh", "Link",
	"Access-Control-Allow-Origin", "Content-Security-Policy", "Content-Security-Policy-Report-Only",
}

// requestHeaders are request headers whose values hold the external URL
// of the page the browser is on; the app expects its own. (Origin, which
// has no path, is translated by translateOrigin.)
var requestHeaders = []string{"Referer"}

// translateOrigin turns the external origin in an Origin header into the
// internal one, so the app's CSRF and CORS checks see their own origin.
func translateOrigin(h headerValues, ms []mapping) {
	values := h.Values("Origin")
	if len(values) != 1 {
		return
	}
	for _, m := range ms {
		if strings.EqualFold(values[0], m.to.origin()) {
			h.Del("Origin")
			h.Add("Origin", m.from.origin())
			return
		}
	}
}

// headerValues is what the filter reads and writes headers with: the SDK
// in the guest, a map in tests.
type headerValues interface {
	Values(name string) []string
	Del(name string)
	Add(name, value string)
}

// translateHeaders rewrites the URL-valued headers of h with r. It
// reports whether anything changed.
func translateHeaders(h headerValues, names []string, r *rewriter) bool {
	changed := false
	for _, name := range names {
		values := h.Values(name)
		out := make([]string, len(values))
		same := true
		for i, v := range values {
			out[i] = r.String(v)
			same = same && out[i] == v
		}
		if same {
			continue
		}
		h.Del(name)
		for _, v := range out {
			h.Add(name, v)
		}
		changed = true
	}
	return changed
}

// translateCookie rewrites a Set-Cookie value: a Domain naming an
// internal host becomes the external host, a Domain above the app's
// internal host is dropped (the browser would refuse it for the external
// host), and a Path under the app's internal base path moves under its
// external one. own is the app's mapping, nil if unknown.
func translateCookie(v string, ms []mapping, own *mapping) string {
	parts := strings.Split(v, ";")
	out := parts[:1]
	changed := false
	for _, p := range parts[1:] {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch {
		case strings.EqualFold(name, "domain"):
			d := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(value), "."))
			if to, ok := domainFor(d, ms); ok {
				p, changed = " Domain="+to, true
			} else if own != nil && strings.HasSuffix(own.from.host, "."+d) {
				changed = true
				continue
			}
		case strings.EqualFold(name, "path") && own != nil && own.from.path != "":
			path := strings.TrimSpace(value)
			if rest, ok := strings.CutPrefix(path, own.from.path); ok && (rest == "" || rest[0] == '/') {
				np := own.to.path + rest
				if np == "" {
					np = "/"
				}
				p, changed = " Path="+np, true
			}
		}
		out = append(out, p)
	}
	if !changed {
		return v
	}
	return strings.Join(out, ";")
}

func domainFor(d string, ms []mapping) (string, bool) {
	for _, m := range ms {
		if m.from.host == d {
			return m.to.host, true
		}
	}
	return "", false
}

// ownMapping is the mapping whose external host serves this request.
func ownMapping(ms []mapping, host string) int {
	host = strings.ToLower(host)
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	for i, m := range ms {
		if m.to.host == host {
			return i
		}
	}
	return -1
}
