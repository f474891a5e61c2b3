package proxy

import (
	"net"
	"sort"
	"strings"
)

// Route is one published app as the public side routes it.
type Route struct {
	App    string
	Group  string
	Host   string // lower-case, no port
	Prefix string // "/" or "/path" without a trailing slash
}

// Table maps (host, path) to a route; it is immutable once built.
type Table struct {
	Version uint64
	hosts   map[string][]Route // longest prefix first
}

// NewTable builds a routing table for config version v.
func NewTable(v uint64, routes []Route) *Table {
	t := &Table{Version: v, hosts: map[string][]Route{}}
	for _, r := range routes {
		t.hosts[r.Host] = append(t.hosts[r.Host], r)
	}
	for _, rs := range t.hosts {
		sort.Slice(rs, func(i, j int) bool { return len(rs[i].Prefix) > len(rs[j].Prefix) })
	}
	return t
}

// Match returns the route for a request's Host header and path, or nil.
// A prefix matches the path itself and anything below it ("/app" matches
// "/app" and "/app/x" but not "/apple").
func (t *Table) Match(hostHeader, path string) *Route {
	host := hostHeader
	if h, _, err := net.SplitHostPort(hostHeader); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	rs := t.hosts[host]
	for i := range rs {
		p := rs[i].Prefix
		if p == "/" || path == p || (strings.HasPrefix(path, p) && path[len(p)] == '/') {
			return &rs[i]
		}
	}
	return nil
}
