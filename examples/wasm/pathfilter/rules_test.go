package main

import "testing"

func TestDecide(t *testing.T) {
	r, err := Config{
		Allow: []string{"/", "/never-reached"},
		Deny:  []string{"/admin", "/.git", "/**/*.bak", "/api/*/internal/**"},
	}.compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"/", true},
		{"/index.html?admin=1", true},
		{"/administrator", true},
		{"/admin", false},
		{"/admin/users?x=1", false},
		{"//admin", false},
		{"/a/../admin", false},
		{"/a/%2e%2e/admin", false},
		{"/%61dmin", false},
		{"/admin;jsessionid=1/x", false},
		{"/.git/config", false},
		{"/backup/db.bak", false},
		{"/db.bak", false},
		{"/api/v1/internal", false},
		{"/api/v1/internal/x/y", false},
		{"/api/v1/public", true},
		{"/%zz", false},
		{"/a\\..\\admin", false},
		{"/ADMIN", true}, // case-sensitive unless configured
	} {
		if ok, reason := r.decide(tc.uri); ok != tc.ok {
			t.Errorf("decide(%q) = %v (%s), want %v", tc.uri, ok, reason, tc.ok)
		}
	}
	only, _ := Config{Allow: []string{"/public", "/static/**/*.css"}, CaseInsensitive: true, Deny: []string{"/Public/Secret"}}.compile()
	for uri, want := range map[string]bool{
		"/public/x": true, "/PUBLIC": true, "/public/secret/x": false, "/static/a/b.css": true, "/static/b.js": false, "/other": false,
	} {
		if ok, _ := only.decide(uri); ok != want {
			t.Errorf("allow-list decide(%q) = %v, want %v", uri, ok, want)
		}
	}
}

func TestCompileRefuses(t *testing.T) {
	_, err := Config{Allow: []string{"relative"}, Deny: []string{"/[x"}, Status: 200}.compile()
	want := "status: 200 is not a 4xx or 5xx status\nallow[0]: \"relative\" does not start with /\ndeny[0]: \"/[x\": syntax error in pattern"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}
