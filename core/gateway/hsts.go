package gateway

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// withHSTS adds each app's Strict-Transport-Security header (apps[].hsts)
// to responses on HTTPS, looked up by host in the live snapshot. The
// header is set before the proxy runs, so the proxy stays unaware of it.
func withHSTS(next http.Handler, hsts func(host string) int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			if age := hsts(requestHost(r)); age > 0 {
				w.Header().Set("Strict-Transport-Security", "max-age="+strconv.FormatInt(age, 10))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requestHost is r's host without port, lower-cased.
func requestHost(r *http.Request) string {
	host := r.Host
	if strings.IndexByte(host, ':') < 0 {
		// no port: skip SplitHostPort, whose error allocates
	} else if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
