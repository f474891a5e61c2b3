package signin

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// Every spelling of another origin falls back to the app's prefix; paths
// on this host come back canonical (dots resolved), query and fragment
// kept.
func TestSafeReturn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/reports?year=2026#section-2", "/reports?year=2026#section-2"},
		{"/a%20b/x?q=1&r=2", "/a%20b/x?q=1&r=2"},
		{"/caf%C3%A9", "/caf%C3%A9"},
		{"/a/b/../c/./d", "/a/c/d"},
		{"/a/%2e%2E/b", "/b"},
		{"/a/..", "/"},
		{"/a%2Fb", "/a%2Fb"},
		{"/?", "/?"},
		{"/x#", "/x#"},
		{"/.", "/"},
		{"/../../x", "/x"},
		// another origin, however spelled
		{"//evil.example/x", "/app/"},
		{"/\\evil.example", "/app/"},
		{"\\/evil.example", "/app/"},
		{"/./\\evil.example", "/app/"},
		{"/x/../\\evil.example", "/app/"},
		{"/x/..//evil.example", "/app/"},
		{"/.//evil.example", "/app/"},
		{"/%2e%2e//evil.example", "/app/"},
		{"/x/%2e%2e/%2Fevil.example", "/app/"},
		{"/%2F/evil.example", "/app/"},
		{"/%2f%2fevil.example", "/app/"},
		{"/%5Cevil.example", "/app/"},
		{"/%5c%5cevil.example", "/app/"},
		{"/\t/evil.example", "/app/"},
		{"/\n/evil.example", "/app/"},
		{"/\r\n/evil.example", "/app/"},
		{"/%09/evil.example", "/app/"},
		{"/%0a/evil.example", "/app/"},
		{" //evil.example", "/app/"},
		{"/ /evil.example", "/app/"},
		{"https://evil.example/", "/app/"},
		{"https:/evil.example/", "/app/"},
		{"https:evil.example", "/app/"},
		{"javascript:alert(1)", "/app/"},
		{"JaVaScRiPt:alert(1)", "/app/"},
		{"//user:pw@evil.example", "/app/"},
		{"evil.example", "/app/"},
		{"", "/app/"},
		{"/\u3002evil", "/app/"},
		{"/\uff0f\uff0fevil.example", "/app/"},
		{"/%zz", "/app/"},
		{"/" + string(make([]byte, maxReturn)), "/app/"},
	} {
		if got := safeReturn(tc.in, "/app/"); got != tc.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The start endpoint writes the Location it checked, not a re-cleaned
// one: "/x/../\evil" must not come back as "/\evil".
func TestStartRedirectNotRecleaned(t *testing.T) {
	w := httptest.NewRecorder()
	SeeOther(w, safeReturn("/x/../\\evil.example", "/"))
	if got := w.Header().Get("Location"); got != "/" {
		t.Fatalf("Location %q", got)
	}
	u, _ := url.Parse("https://app.example/start")
	for _, in := range []string{"/a/../b", "/a//b"} {
		w := httptest.NewRecorder()
		SeeOther(w, safeReturn(in, "/"))
		loc, err := u.Parse(w.Header().Get("Location"))
		if err != nil || loc.Host != "app.example" {
			t.Fatalf("%q: Location %q resolves to %v (%v)", in, w.Header().Get("Location"), loc, err)
		}
	}
}
