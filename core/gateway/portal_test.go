package gateway

import (
	"testing"

	"github.com/gatehouse/gatehouse/core/config"
)

// Only an app that signs in exactly as the portal does takes the
// portal's session: the same plug-in with the same config, wherever in
// the file each block was written. Another client id or issuer is
// another identity provider's users, whose names may collide.
func TestSameAuth(t *testing.T) {
	auth := func(plugin string, line int, kv ...string) config.Auth {
		v := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			v[kv[i]] = kv[i+1]
		}
		return config.Auth{Plugin: plugin, Config: config.Opaque{Value: v, Line: line, Column: 5}}
	}
	portal := auth("oidc", 10, "issuer", "https://idp.example.com", "client_id", "gw")
	for _, c := range []struct {
		name string
		app  config.Auth
		want bool
	}{
		{"same block, another line", auth("oidc", 40, "client_id", "gw", "issuer", "https://idp.example.com"), true},
		{"another client id", auth("oidc", 10, "issuer", "https://idp.example.com", "client_id", "other"), false},
		{"another issuer", auth("oidc", 10, "issuer", "https://partner.example.com", "client_id", "gw"), false},
		{"another plug-in name, same config", auth("oidc2", 10, "issuer", "https://idp.example.com", "client_id", "gw"), false},
		{"an extra option", auth("oidc", 10, "issuer", "https://idp.example.com", "client_id", "gw", "scopes", "openid"), false},
		{"passthrough", config.Auth{Passthrough: true}, false},
	} {
		if got := sameAuth(c.app, portal); got != c.want {
			t.Errorf("%s: sameAuth = %v, want %v", c.name, got, c.want)
		}
	}
}
