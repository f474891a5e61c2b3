package config

import (
	"strings"
	"testing"
	"time"
)

// apps[].cookie: each setting defaults to the gateway's (sessions.*, lax),
// and bad values are named.
func TestAppCookie(t *testing.T) {
	const head = "plugins:\n  - {name: oidc, builtin: true}\nsessions: {lifetime: 2h, persistent: true}\nconnector_groups: [{name: default}]\napps:\n"
	app := func(extra string) string {
		return head + "  - {name: hr, host: hr.example.com, group: default, backend: {url: \"http://10.0.0.5\"}, auth: {plugin: oidc, config: {issuer: \"http://127.0.0.1:1\"}}" + extra + "}\n"
	}
	for _, tc := range []struct {
		name, yaml string
		persistent bool
		lifetime   time.Duration
		sameSite   string
		err        string
	}{
		{"defaults", app(""), true, 2 * time.Hour, "lax", ""},
		{"all set", app(", cookie: {persistent: false, lifetime: 15m, same_site: Strict}"), false, 15 * time.Minute, "strict", ""},
		{"none", app(", cookie: {same_site: none}"), true, 2 * time.Hour, "none", ""},
		{"bad same_site", app(", cookie: {same_site: sometimes}"), false, 0, "", `apps[0].cookie.same_site: "sometimes" is not a SameSite value`},
		{"short lifetime", app(", cookie: {lifetime: 10s}"), false, 0, "", "apps[0].cookie.lifetime: 10s is too short"},
		{"zero lifetime", app(", cookie: {lifetime: 0s}"), false, 0, "", "apps[0].cookie.lifetime: 0s is too short"},
		{"unknown key", app(", cookie: {samesite: lax}"), false, 0, "", "samesite"},
		{"passthrough", strings.Replace(app(", cookie: {same_site: strict}"), `auth: {plugin: oidc, config: {issuer: "http://127.0.0.1:1"}}`, "auth: passthrough", 1),
			false, 0, "", "apps[0].cookie: is for web apps with sign-in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("gatehouse.yaml", []byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, l, s := c.Apps[0].SessionCookie(c.Sessions)
			if p != tc.persistent || l != tc.lifetime || s != tc.sameSite {
				t.Errorf("got persistent %v, lifetime %v, same_site %q; want %v, %v, %q", p, l, s, tc.persistent, tc.lifetime, tc.sameSite)
			}
		})
	}
}
