package signin

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
)

// A plug-in's sdk.Failure reaches a browser as a page in the gateway's
// layout with the request id and a link back; other clients get the
// plug-in's text line.
func TestPluginPage(t *testing.T) {
	var logs strings.Builder
	a := &App{Name: "hr", Prefix: "/", Gate: &Gate{Logger: slog.New(slog.NewTextHandler(&logs, nil))}}
	res := sdk.Failure(403, "Sign-in refused", "The identity provider refused the sign-in.")
	res.Reason = "error=access_denied"
	r := httptest.NewRequest("GET", "https://hr.example.com/.gatehouse/auth/hr/callback", nil)
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8") // as answer copies the plug-in's headers
	if !a.pluginPage(w, r, res, "/reports?y=1", "RID") {
		t.Fatal("a browser did not get the page")
	}
	body := w.Body.String()
	for _, want := range []string{"<title>Sign-in refused</title>", "The identity provider refused the sign-in.",
		"<code>RID</code>", `<a href="/reports?y=1">Try signing in again</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if w.Code != 403 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
	}
	if !strings.Contains(logs.String(), "request_id=RID") || !strings.Contains(logs.String(), `reason="error=access_denied"`) {
		t.Errorf("no log line carries the page's request id and reason: %s", logs.String())
	}
	r.Header.Set("Accept", "*/*")
	if a.pluginPage(httptest.NewRecorder(), r, res, "/", "RID") {
		t.Error("a non-browser got the HTML page")
	}
	r.Header.Set("Accept", "text/html")
	if a.pluginPage(httptest.NewRecorder(), r, sdk.Challenge(401, nil, []byte("x")), "/", "RID") {
		t.Error("a challenge without a page was drawn as one")
	}
}
