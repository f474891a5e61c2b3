package proxy

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// Route is one published app as the public side routes it.
type Route struct {
	App    string
	Group  string
	Host   string // lower-case, no port
	Prefix string // "/" or "/path" without a trailing slash
	// Guard admits requests to an app with sign-in; nil for passthrough.
	Guard Guard
	// Filters wraps the app's WASM filter chain around the relay; nil
	// without filters.
	Filters func(http.Handler) http.Handler
}

// A Guard decides whether a request may reach an app's backend. It
// returns the signed identity envelope to send with the request (and the
// user's sealed vault credentials, for apps with the vault), or ok false after answering the client itself (sign-in redirect, challenge,
// error page).
type Guard interface {
	Admit(w http.ResponseWriter, r *http.Request, requestID string) (envelope, secret []byte, ok bool)
}

// Table maps (host, path) to a route; it is immutable once built.
type Table struct {
	Version uint64
	// Reserved serves /.gatehouse/ on published hosts (sign-in callbacks,
	// JWKS); nil: those paths are 404.
	Reserved http.Handler
	hosts    map[string][]Route // longest prefix first
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

// Published reports whether any app is published on the request's host.
func (t *Table) Published(hostHeader string) bool {
	return len(t.hosts[httphead.HostName(hostHeader)]) > 0
}

// Match returns the route for a request's Host header and path, or nil.
// A prefix matches the path itself and anything below it ("/app" matches
// "/app" and "/app/x" but not "/apple").
func (t *Table) Match(hostHeader, path string) *Route {
	rs := t.hosts[httphead.HostName(hostHeader)]
	for i := range rs {
		p := rs[i].Prefix
		if p == "/" || path == p || (strings.HasPrefix(path, p) && path[len(p)] == '/') {
			return &rs[i]
		}
	}
	return nil
}
