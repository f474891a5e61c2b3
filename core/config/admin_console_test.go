package config

import (
	"strings"
	"testing"
)

func TestAdminConsole(t *testing.T) {
	const plugins = "plugins:\n  - {name: oidc, builtin: true}\n"
	auth := "    auth: {plugin: oidc, config: {issuer: \"http://127.0.0.1:1\"}}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"left out", "", ""},
		{"sign-in with a group policy", plugins + "admin:\n  console:\n" + auth + "    access: {groups: [gateway-admins]}\n", ""},
		{"dev mode on loopback", "admin: {console: {dev_no_signin: true}}\n", ""},
		{"dev mode on a remote listener", "listen: {admin: \"0.0.0.0:9180\"}\nadmin: {allow_remote: true, console: {dev_no_signin: true}}\n",
			"admin.console.dev_no_signin: serving the console without sign-in is for development on loopback only"},
		{"dev mode and auth", plugins + "admin:\n  console:\n" + auth + "    access: {users: [alice]}\n    dev_no_signin: true\n", "cannot also be served without sign-in"},
		{"no policy", plugins + "admin:\n  console:\n" + auth, "admin.console.access: missing: the admin policy"},
		{"no auth", "admin: {console: {access: {users: [alice]}}}\n", "admin.console.auth: missing"},
		{"passthrough", "admin: {console: {auth: passthrough, access: {users: [alice]}}}\n", "passthrough is not allowed here"},
		{"plug-in not in the catalog", "admin:\n  console:\n" + auth + "    access: {users: [alice]}\n", `plug-in "oidc" is not in the plugins: catalog`},
		{"remote listener", plugins + "listen: {admin: \"10.0.0.1:9180\"}\nadmin:\n  allow_remote: true\n  console:\n" + auth + "    access: {users: [alice]}\n",
			"browsers allow only on loopback"},
		{"listener off", plugins + "listen: {admin: \"off\"}\nadmin:\n  console:\n" + auth + "    access: {users: [alice]}\n", "listen.admin is off"},
		{"bad IP range", plugins + "admin:\n  console:\n" + auth + "    access: {users: [alice], allow_ips: [nope]}\n", "admin.console.access.allow_ips[0]"},
		{"unknown key", "admin: {console: {dev_no_sign_in: true}}\n", "dev_no_sign_in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("gatehouse.yaml", []byte(tt.yaml+appYAML))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one with %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tt.yaml, "groups: [gateway-admins]") && (!c.Admin.Console.On() || c.Admin.Console.Access.Groups[0] != "gateway-admins") {
				t.Errorf("console %+v", c.Admin.Console)
			}
		})
	}
}
