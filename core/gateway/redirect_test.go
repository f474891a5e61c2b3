package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The plain-HTTP listener redirects only the hosts the gateway publishes:
// a request naming any other Host must not be sent to that name.
func TestHTTPRedirectOnlyForPublishedHosts(t *testing.T) {
	h := httpHandler("127.0.0.1:8443", func(host string) bool { return host == "app.example" }, nil)
	for _, tt := range []struct {
		host, target string
		status       int
		location     string
	}{
		{"app.example", "/x?y=1", http.StatusPermanentRedirect, "https://app.example:8443/x?y=1"},
		{"APP.example.:80", "/x", http.StatusPermanentRedirect, "https://app.example:8443/x"},
		{"evil.example", "/x", http.StatusNotFound, ""},
		{"app.example.evil.example", "/x", http.StatusNotFound, ""},
		{"", "/x", http.StatusBadRequest, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, tt.target, nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.status || w.Header().Get("Location") != tt.location {
			t.Errorf("Host %q %s: %d Location %q; want %d %q", tt.host, tt.target, w.Code, w.Header().Get("Location"), tt.status, tt.location)
		}
	}
}
