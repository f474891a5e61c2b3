package reserved

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The URLs this package builds are the ones its Mux routes.
func TestBuiltURLsRoute(t *testing.T) {
	hit := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Hit", name) })
	}
	m := &Mux{JWKS: []byte(`{"keys":[]}`), Apps: map[string]App{
		"hr":   {Host: "hr.example.com", Start: hit("start"), Callback: hit("callback"), SignOut: hit("signout"), SignedOut: hit("signedout"), Credentials: hit("credentials")},
		"wiki": {Host: "wiki.example.com", Start: hit("wiki-start")}, // no vault: no credentials page
	}}
	for _, c := range []struct {
		host, target, want string
		status             int
	}{
		{"hr.example.com", Start("hr"), "start", 200},
		{"hr.example.com", StartReturn("hr", "/a?b#c"), "start", 200},
		{"hr.example.com", Callback("hr.example.com:8443", "hr")[len("https://hr.example.com:8443"):], "callback", 200},
		{"hr.example.com", SignOut("hr"), "signout", 200},
		{"hr.example.com", SignedOut("hr") + "?state=x", "signedout", 200},
		{"wiki.example.com", SignedOut("wiki"), "", 404}, // nil handler
		{"hr.example.com", Credentials("hr", "/x", true), "credentials", 200},
		{"hr.example.com:8443", Credentials("hr", "/x", false), "credentials", 200},
		{"wiki.example.com", Start("hr"), "", 404},                     // another app's host
		{"wiki.example.com", Credentials("wiki", "/", false), "", 404}, // nil handler
		{"hr.example.com", Prefix + "auth/hr/other", "", 404},
		{"hr.example.com", Prefix + "auth/nobody/start", "", 404},
		{"hr.example.com", Prefix + "other", "", 404},
		{"hr.example.com", JWKS, "", 200},
	} {
		r := httptest.NewRequest("GET", "https://"+c.host+c.target, nil)
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		if w.Code != c.status || w.Header().Get("X-Hit") != c.want {
			t.Errorf("%s %s: status %d, handler %q; want %d, %q", c.host, c.target, w.Code, w.Header().Get("X-Hit"), c.status, c.want)
		}
	}
	if got := Credentials("hr", "/a b?c=d", true); got != "/.gatehouse/auth/hr/credentials?again&return=%2Fa+b%3Fc%3Dd" {
		t.Errorf("Credentials = %q", got)
	}
	if got := Callback("hr.example.com", "hr"); got != "https://hr.example.com/.gatehouse/auth/hr/callback" {
		t.Errorf("Callback = %q", got)
	}
	if got := SignedOutURL("hr.example.com:8443", "hr"); got != "https://hr.example.com:8443/.gatehouse/auth/hr/signedout" {
		t.Errorf("SignedOutURL = %q", got)
	}
	if !Exact("/.gatehouse/x") || Exact("/.Gatehouse/x") || Exact("/app/.gatehouse/") {
		t.Error("Exact")
	}
}
