package errorpage_test

import (
	"html/template"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/core/errorpage"
)

func TestWriteDrawsTheLayout(t *testing.T) {
	r := httptest.NewRequest("GET", "https://app.example.com/x", nil)
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	errorpage.Write(w, r, errorpage.Page{Status: 403, Title: "Access denied", Text: "Not for <you>.", RequestID: "RID1",
		Links: []errorpage.Link{{Text: "Open the app again", Href: "/?a=1&b=2"}}})
	body := w.Body.String()
	if w.Code != 403 || w.Header().Get("X-Request-Id") != "RID1" || w.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatalf("status %d, headers %v", w.Code, w.Header())
	}
	for _, want := range []string{
		`<html lang="en">`, `name="viewport" content="width=device-width,initial-scale=1"`,
		"<title>Access denied</title>", `<header role="banner">`, `<main id="main"`, "<h1>Access denied</h1>",
		"<p>Not for &lt;you&gt;.</p>", `<a href="/?a=1&amp;b=2">Open the app again</a>`,
		"Request ID: <code>RID1</code>. If you ask your IT team", "<footer>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}

func TestSuccessPageTitleHasNoNumber(t *testing.T) {
	r := httptest.NewRequest("GET", "https://app.example.com/", nil)
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	errorpage.Write(w, r, errorpage.Page{Status: 200, Title: "Signed out", Text: "Bye.", RequestID: "R"})
	if !strings.Contains(w.Body.String(), "<title>Signed out</title>") || strings.Contains(w.Body.String(), "IT team") {
		t.Fatalf("a 200 page: %s", w.Body.String())
	}
}

func TestServeFrame(t *testing.T) {
	body, err := errorpage.Body(template.Must(template.New("b").Parse(`<ul class="cards"><li>{{.}}</li></ul>`)), "<b>x</b>")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	errorpage.Serve(w, errorpage.Frame{Title: "My Apps", User: "alice@example.com", SignOut: "/.gatehouse/auth/portal/signout",
		Head: `<meta name="robots" content="noindex">`, Wide: true}, body)
	got := w.Body.String()
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d type %q", w.Code, w.Header().Get("Content-Type"))
	}
	for _, want := range []string{`<li>&lt;b&gt;x&lt;/b&gt;</li>`, "Signed in as <b>alice@example.com</b>",
		`<a href="/.gatehouse/auth/portal/signout">Sign out</a>`, `<meta name="robots" content="noindex">`, `<main id="main" class="wide">`} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Request ID") {
		t.Errorf("no request id was given, yet the page shows one")
	}
}

func TestBodyError(t *testing.T) {
	_, err := errorpage.Body(template.Must(template.New("b").Parse(`{{.Missing}}`)), 3)
	if err == nil {
		t.Fatal("a template that fails gave no error")
	}
}
