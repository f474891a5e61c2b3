package proxy

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/core/target"
	"github.com/gatehouse/gatehouse/internal/httphead"
	"github.com/gatehouse/gatehouse/internal/wildcard"
)

// Route is one published app as the public side routes it.
type Route struct {
	App    string
	Group  string
	Host   string // lower-case, no port; or a wildcard "*.example.com"
	Prefix string // "/" or "/path" without a trailing slash
	// Paths are the app's choices about paths (case, escaped slashes).
	Paths target.Options
	// Guard admits requests to an app with sign-in; nil for passthrough.
	Guard Guard
	// Headers is what the app lets through from clients beyond the
	// default (headers.go).
	Headers HeaderPolicy
	// Filters wraps the app's WASM filter chain around the relay; nil
	// without filters.
	Filters func(http.Handler) http.Handler
	// HSTS is the max-age in seconds of the Strict-Transport-Security
	// header on the app's responses over HTTPS; 0: none. A browser applies
	// it to the whole host, so the host gets the longest of its apps'.
	HSTS int64
	// Observer measures the app's requests (observe.go); nil: none.
	Observer Observer
	// AccessLog writes the app's access log (access.go); nil: none.
	AccessLog *AccessLog
	// TCP marks a TCP app (tcp.go); nil for a web app.
	TCP *TCPRoute
}

// A Guard decides whether a request may reach an app's backend. It
// returns the admission to send with the request (who the user is, the
// signed identity envelope and, for apps with the vault, the user's
// sealed credentials), or ok false after answering the client itself
// (sign-in redirect, challenge, error page).
type Guard interface {
	Admit(w http.ResponseWriter, r *http.Request, requestID string) (signin.Admission, bool)
}

// Table maps (host, path) to a route; it is immutable once built.
type Table struct {
	Version uint64
	// Reserved serves the reserved paths (package reserved) on published
	// hosts: sign-in callbacks, JWKS, the vault page; nil: those are 404.
	Reserved http.Handler
	hosts    map[string][]Route // longest prefix first
	hsts     map[string]int64   // by host: the longest of its apps' HSTS
	// fold: hosts where prefixes match without regard to case, because
	// one of their apps' backends reads paths so.
	fold map[string]bool
}

// NewTable builds a routing table for config version v.
func NewTable(v uint64, routes []Route) *Table {
	t := &Table{Version: v, hosts: map[string][]Route{}, fold: map[string]bool{}, hsts: map[string]int64{}}
	for _, r := range routes {
		t.hosts[r.Host] = append(t.hosts[r.Host], r)
		t.fold[r.Host] = t.fold[r.Host] || r.Paths.FoldCase
		t.hsts[r.Host] = max(t.hsts[r.Host], r.HSTS)
	}
	for _, rs := range t.hosts {
		sort.Slice(rs, func(i, j int) bool { return len(rs[i].Prefix) > len(rs[j].Prefix) })
	}
	return t
}

// Published reports whether any app is published on the request's host,
// by its exact name or by a wildcard app.
func (t *Table) Published(hostHeader string) bool {
	return t.HostKey(httphead.HostName(hostHeader)) != ""
}

// HostKey returns the app host that serves host name: host itself when
// an app publishes it exactly (the most specific app wins), else the
// wildcard ("*.apps.example.com") whose one label it fills with a valid
// label, else "".
func (t *Table) HostKey(host string) string {
	if strings.HasPrefix(host, "*") { // a pattern is not a name (an SNI may say anything)
		return ""
	}
	if len(t.hosts[host]) > 0 {
		return host
	}
	if p, ok := wildcard.Pattern(host); ok && len(t.hosts[p]) > 0 {
		return p
	}
	return ""
}

// IsAppHost reports whether an app is published on host as written in
// the config: an exact name or a wildcard ("*.apps.example.com").
func (t *Table) IsAppHost(host string) bool { return len(t.hosts[host]) > 0 }

// HSTS returns the Strict-Transport-Security max-age in seconds for the
// request's host (0: no header).
func (t *Table) HSTS(hostHeader string) int64 {
	return t.hsts[t.HostKey(httphead.HostName(hostHeader))]
}

// Match returns the route for a request's Host header and decoded path,
// or nil. A prefix matches the path itself and anything below it ("/app"
// matches "/app" and "/app/x" but not "/apple").
func (t *Table) Match(hostHeader, path string) *Route {
	r, _ := t.match(httphead.HostName(hostHeader), path)
	return r
}

// match finds the route for host name and a decoded path, and how many
// bytes of the path its prefix takes. On a host where any app's backend
// folds case, every prefix of the host matches without regard to case:
// the choice between two apps of one host must not depend on a spelling
// that one of their backends would not tell apart (/HR reaching the "/"
// app of an IIS backend that serves /hr). A host published exactly is
// routed among its own apps only; any other host with a valid first label
// among the apps of the wildcard above it.
func (t *Table) match(host, path string) (*Route, int) {
	key := t.HostKey(host)
	rs, fold := t.hosts[key], t.fold[key]
	for i := range rs {
		if n, ok := target.MatchPrefix(path, rs[i].Prefix, fold); ok {
			return &rs[i], n
		}
	}
	return nil, 0
}
