package connector

import "testing"

func TestTrimEscapedPrefix(t *testing.T) {
	for _, tt := range []struct{ escaped, prefix, want string }{
		{"/hr/a%2Fb", "/hr", "/a%2Fb"},
		{"/h%72/a%2Fb", "/hr", "/a%2Fb"},
		{"/donn%C3%A9es/a%2Fb", "/données", "/a%2Fb"},
		{"/hr", "/hr", "/"},
		{"/x/y", "/", "/x/y"},
		{"/a%20b/c", "/a b", "/c"},
	} {
		if got := trimEscapedPrefix(tt.escaped, tt.prefix); got != tt.want {
			t.Errorf("trimEscapedPrefix(%q, %q) = %q, want %q", tt.escaped, tt.prefix, got, tt.want)
		}
	}
}
