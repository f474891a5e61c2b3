package config

import (
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// checkHeaders validates an app's allow_trailers and writes each name in
// its canonical form. forward_identity_headers is a plain bool.
func (l *loader) checkHeaders(key string, a *App) {
	seen := map[string]int{}
	for i, name := range a.AllowTrailers {
		k := fmt.Sprintf("%s.allow_trailers[%d]", key, i)
		if name == "" {
			l.errorf(k, "empty: name a request trailer the backend needs, e.g. X-Checksum")
			continue
		}
		if why := httphead.TrailerRefusal(name); why != "" {
			l.errorf(k, "%q %s; remove it from allow_trailers", name, why)
			continue
		}
		c := http.CanonicalHeaderKey(name)
		if j, dup := seen[c]; dup {
			l.errorf(k, "%q is already allowed at allow_trailers[%d]; list each name once", name, j)
			continue
		}
		seen[c] = i
		a.AllowTrailers[i] = c
	}
}
