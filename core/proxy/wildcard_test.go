package proxy

import (
	"testing"

	"github.com/gatehouse/gatehouse/core/target"
)

// TestTableWildcard checks wildcard routing: one label only, an exact
// host beats the wildcard above it, and the prefixes of a wildcard app
// apply to every name it covers.
func TestTableWildcard(t *testing.T) {
	table := NewTable(1, []Route{
		{App: "wild", Group: "g", Host: "*.apps.test", Prefix: "/"},
		{App: "wild-api", Group: "g", Host: "*.apps.test", Prefix: "/api", HSTS: 60},
		{App: "exact", Group: "g", Host: "c.apps.test", Prefix: "/x"},
		{App: "deep", Group: "g", Host: "*.b.apps.test", Prefix: "/"},
	})
	for _, c := range []struct{ host, path, want string }{
		{"a.apps.test", "/", "wild"},
		{"B.Apps.Test:8443", "/page", "wild"},
		{"build-7.apps.test", "/api/v1", "wild-api"},
		{"c.apps.test", "/x/y", "exact"},
		{"c.apps.test", "/", ""}, // the exact host's own apps only
		{"x.b.apps.test", "/", "deep"},
		{"x.y.apps.test", "/", ""}, // two labels: no wildcard above it
		{"apps.test", "/", ""},
		{"a_b.apps.test", "/", ""},
		{"-a.apps.test", "/", ""},
		{"*.apps.test", "/", ""},
		{"a.apps.test.evil", "/", ""},
	} {
		got := ""
		if r := table.Match(c.host, c.path); r != nil {
			got = r.App
		}
		if got != c.want {
			t.Errorf("Match(%q, %q) = %q, want %q", c.host, c.path, got, c.want)
		}
	}
	for host, want := range map[string]bool{"a.apps.test": true, "c.apps.test": true, "x.y.apps.test": false, "*.apps.test": false, "a%2e.apps.test": false} {
		if got := table.Published(host); got != want {
			t.Errorf("Published(%q) = %v, want %v", host, got, want)
		}
	}
	if got := table.HSTS("zz.apps.test"); got != 60 {
		t.Errorf("HSTS of a wildcard name = %d, want the wildcard apps' 60", got)
	}
	if _, _, ok := target.Host("a%2e.apps.test"); ok {
		t.Error("target.Host accepted a percent-encoded host: the gateway must refuse it before routing")
	}
}
