package gateway

import (
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// httpHandler serves listen.http: ACME HTTP-01 challenges (through
// challenge, nil outside tls.mode acme) and a 308 redirect to HTTPS on the
// public port for the hosts that published reports as served. Any other
// Host gets a 404: the redirect never sends a browser to a name the
// gateway does not serve.
func httpHandler(publicAddr string, published func(host string) bool, challenge func(http.Handler) http.Handler) http.Handler {
	_, port, _ := net.SplitHostPort(publicAddr)
	var redirect http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := httphead.HostName(r.Host)
		if host == "" {
			http.Error(w, "missing Host header", http.StatusBadRequest)
			return
		}
		if !published(host) {
			http.Error(w, "no app is published on this host", http.StatusNotFound)
			return
		}
		if port != "443" && port != "" {
			host = net.JoinHostPort(host, port)
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
	if challenge != nil {
		return challenge(redirect)
	}
	return redirect
}
