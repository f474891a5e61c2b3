package signin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWildcardSessionPerHost checks that the session of a wildcard app
// stays with the host it was made on: a __Host- cookie (no Domain, so the
// browser sends it to that host only), sealed for that host, so the same
// cookie copied to another name under the wildcard is no session there.
func TestWildcardSessionPerHost(t *testing.T) {
	rig := newCLIRig(t)
	app := &App{Name: "sites", Host: "*.apps.test", Prefix: "/", Plugin: "p", Auth: rig.auth, Lifetime: 8 * time.Hour, Gate: rig.app.Gate}
	w := httptest.NewRecorder()
	if _, ok := app.Admit(w, rig.req("GET", "https://a.apps.test/", http.Header{"X-Key": {"k"}}), "rid"); !ok {
		t.Fatalf("signing in on a.apps.test: %d", w.Code)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || !strings.HasPrefix(cookies[0].Name, "__Host-") || cookies[0].Domain != "" {
		t.Fatalf("session cookie %+v: want one __Host- cookie without Domain", cookies)
	}
	c := cookies[0].Name + "=" + cookies[0].Value
	admit := func(host string) bool {
		w := httptest.NewRecorder()
		r := rig.req("GET", "https://"+host+"/", http.Header{"Cookie": {c}, "Accept": {"text/html"}})
		_, ok := app.Admit(w, r, "rid")
		return ok
	}
	if !admit("a.apps.test") {
		t.Fatal("the session is not admitted on the host it was made on")
	}
	if admit("b.apps.test") {
		t.Fatal("a.apps.test's session cookie was admitted on b.apps.test")
	}
}
