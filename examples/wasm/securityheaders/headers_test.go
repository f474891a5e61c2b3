package main

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		set          []header
		remove       []string
		err          string
	}{
		{"defaults", `{}`, []header{
			{"Strict-Transport-Security", "max-age=31536000; includeSubDomains"},
			{"Content-Security-Policy", "frame-ancestors 'none'"},
			{"X-Frame-Options", "DENY"},
			{"X-Content-Type-Options", "nosniff"},
			{"Referrer-Policy", "strict-origin-when-cross-origin"},
		}, []string{"Server", "X-Powered-By"}, ""},
		{"overrides, off, extra", `{"hsts": "", "csp": "default-src 'self'", "frame_options": "", "content_type_options": "",
			"referrer_policy": "", "extra": {"Cross-Origin-Opener-Policy": "same-origin"}, "remove": []}`, []header{
			{"Content-Security-Policy", "default-src 'self'"},
			{"Cross-Origin-Opener-Policy", "same-origin"},
		}, []string{}, ""},
		{"bad", `{"extra": {"Bad Name": "x", "X-Ok": "a\r\nb"}, "remove": [""]}`, nil, nil,
			"extra: \"Bad Name\" is not a header name\nX-Ok: the value has a line break\nremove: \"\" is not a header name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			if err := json.Unmarshal([]byte(tc.config), &c); err != nil {
				t.Fatal(err)
			}
			set, remove, err := c.plan()
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(set, tc.set) || !slices.Equal(remove, tc.remove) {
				t.Errorf("plan = %v %v %v", set, remove, err)
			}
		})
	}
}
