package reserved

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// /.gatehouse/saml/APP/* reaches APP's SAML handler on APP's host only;
// elsewhere, and for an app without one, it is a 404.
func TestSAMLRoutes(t *testing.T) {
	hit := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	m := &Mux{Apps: map[string]App{"wiki": {Host: "wiki.example.com", SAML: hit}, "hr": {Host: "hr.example.com"}}}
	for _, c := range []struct {
		host, path string
		want       int
	}{
		{"wiki.example.com", SAML("wiki", SAMLMetadataAction), http.StatusTeapot},
		{"wiki.example.com:8443", SAMLLaunch("wiki"), http.StatusTeapot},
		{"hr.example.com", SAML("wiki", SAMLSSOAction), http.StatusNotFound},
		{"hr.example.com", SAML("hr", SAMLMetadataAction), http.StatusNotFound},
		{"wiki.example.com", SAML("nope", SAMLMetadataAction), http.StatusNotFound},
		{"wiki.example.com", Prefix + "saml/wiki", http.StatusTeapot}, // the handler 404s unknown actions
	} {
		r := httptest.NewRequest(http.MethodGet, "https://"+c.host+c.path, nil)
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, r)
		if rec.Code != c.want {
			t.Errorf("%s%s: %d, want %d", c.host, c.path, rec.Code, c.want)
		}
	}
	if SAMLLaunch("wiki") != "/.gatehouse/saml/wiki/launch" {
		t.Errorf("SAMLLaunch = %q", SAMLLaunch("wiki"))
	}
}
