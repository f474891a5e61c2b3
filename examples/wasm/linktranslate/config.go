package main

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Config is the filter's JSON config.
type Config struct {
	// Links map internal base URLs to the external ones the gateway
	// publishes them at: {"internal": "http://hr.corp:8080/hr", "external":
	// "https://hr.example.com/"}. List every published app whose links
	// may appear, not only this one.
	Links []Link `json:"links"`
	// Types are extra media types whose bodies are translated, besides
	// HTML, CSS, JavaScript, JSON and XML.
	Types []string `json:"types"`
	// MaxBodyBytes: larger bodies are left alone. Default 8 MiB.
	MaxBodyBytes int `json:"max_body_bytes"`
}

// Link is one internal → external mapping.
type Link struct {
	Internal string `json:"internal"`
	External string `json:"external"`
}

// endpoint is a parsed base URL.
type endpoint struct {
	scheme, host, port, path string // port "" is the scheme's default; path has no trailing slash
}

func parseEndpoint(field, raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("%s: %w", field, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("%s: %q is not an http(s) base URL like https://app.example.com/path", field, raw)
	}
	e := endpoint{scheme: u.Scheme, host: strings.ToLower(u.Hostname()), port: u.Port(), path: strings.TrimSuffix(u.EscapedPath(), "/")}
	if e.port == defaultPort(e.scheme) {
		e.port = ""
	}
	return e, nil
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// origin is scheme://host[:port].
func (e endpoint) origin() string {
	o := e.scheme + "://" + e.host
	if e.port != "" {
		o += ":" + e.port
	}
	return o
}

// mapping is a parsed Link.
type mapping struct{ from, to endpoint }

// parseLinks validates the links, most specific internal URL first.
func parseLinks(links []Link) ([]mapping, error) {
	if len(links) == 0 {
		return nil, errors.New("links: at least one internal → external link is required")
	}
	var ms []mapping
	var errs []error
	for i, l := range links {
		from, err1 := parseEndpoint(fmt.Sprintf("links[%d].internal", i), l.Internal)
		to, err2 := parseEndpoint(fmt.Sprintf("links[%d].external", i), l.External)
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, err)
			continue
		}
		ms = append(ms, mapping{from, to})
	}
	slices.SortStableFunc(ms, func(a, b mapping) int { return len(b.from.path) - len(a.from.path) })
	return ms, errors.Join(errs...)
}

// reversed maps external URLs back to internal ones.
func reversed(ms []mapping) []mapping {
	out := make([]mapping, len(ms))
	for i, m := range ms {
		out[i] = mapping{from: m.to, to: m.from}
	}
	slices.SortStableFunc(out, func(a, b mapping) int { return len(b.from.path) - len(a.from.path) })
	return out
}
