package reserved

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The portal's SSO path answers on the portal's host only, and an app's
// handoff path on the app's own host only.
func TestSSOAndHandoffHosts(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	m := &Mux{Apps: map[string]App{"hr": {Host: "hr.example.com", Handoff: ok}, "wiki": {Host: "wiki.example.com"}},
		SSO: ok, SSOHost: "apps.example.com"}
	for _, c := range []struct {
		host, path string
		want       int
	}{
		{"apps.example.com", SSO, http.StatusTeapot},
		{"apps.example.com:8443", SSO, http.StatusTeapot},
		{"hr.example.com", SSO, http.StatusNotFound},
		{"hr.example.com", Handoff("hr"), http.StatusTeapot},
		{"wiki.example.com", Handoff("hr"), http.StatusNotFound},
		{"wiki.example.com", Handoff("wiki"), http.StatusNotFound}, // no handoff: not through the portal
	} {
		r := httptest.NewRequest("GET", "https://"+c.host+c.path, nil)
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s%s: %d, want %d", c.host, c.path, w.Code, c.want)
		}
	}
}
