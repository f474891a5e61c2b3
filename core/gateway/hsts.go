package gateway

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// withHSTS adds each app's Strict-Transport-Security header (apps[].hsts)
// to responses on HTTPS, looked up by host in the live snapshot. The
// header is set before the proxy runs, so the proxy stays unaware of it.
func withHSTS(next http.Handler, hsts func(host string) int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			if age := hsts(httphead.HostName(r.Host)); age > 0 {
				w.Header().Set("Strict-Transport-Security", "max-age="+strconv.FormatInt(age, 10))
			}
		}
		next.ServeHTTP(w, r)
	})
}
