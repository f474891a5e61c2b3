package oidc

import "testing"

func TestEndSessionURL(t *testing.T) {
	for _, tc := range []struct{ issuer, endpoint, want string }{
		{"https://idp.example", "https://idp.example/logout", "https://idp.example/logout"},
		{"https://idp.example", "https://other.example/logout?x=1", "https://other.example/logout?x=1"},
		{"https://idp.example", "http://idp.example/logout", ""},
		{"http://127.0.0.1:9", "http://127.0.0.1:9/session/end", "http://127.0.0.1:9/session/end"},
		{"http://127.0.0.1:9", "http://evil.example/session/end", ""},
		{"https://idp.example", "/logout", ""},
		{"https://idp.example", "https://idp.example/logout#x", ""},
		{"https://idp.example", "javascript:alert(1)", ""},
		{"https://idp.example", "", ""},
	} {
		if got := endSessionURL(tc.issuer, tc.endpoint); got != tc.want {
			t.Errorf("endSessionURL(%q, %q) = %q, want %q", tc.issuer, tc.endpoint, got, tc.want)
		}
	}
}
