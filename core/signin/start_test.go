package signin

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The start page's links (script, meta refresh, plain link) all carry the
// address opened, escaped once.
func TestStartPageLinks(t *testing.T) {
	a := &App{Name: "hr"}
	r := httptest.NewRequest("GET", "https://hr.example.com/a%20b/x?q=1&r=2", nil)
	w := httptest.NewRecorder()
	a.writeStart(w, r, "rid")
	body := w.Body.String()
	want := `/.gatehouse/auth/hr/start?return=%2Fa%2520b%2Fx%3Fq%3D1%26r%3D2`
	if strings.Count(body, want) != 2 {
		t.Fatalf("want the link %s twice (meta refresh and anchor) in:\n%s", want, body)
	}
	if !strings.Contains(body, `location.replace("/.gatehouse/auth/hr/start" + "?return="`) {
		t.Fatalf("script link missing:\n%s", body)
	}
}
