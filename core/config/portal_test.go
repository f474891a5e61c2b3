package config

import (
	"strings"
	"testing"
)

const portalBase = `
plugins: [{name: oidc, builtin: true}]
connector_groups: [{name: default}]
apps:
  - name: hr
    host: hr.example.com
    group: default
    auth: {plugin: oidc, config: {issuer: "https://idp.example.com"}}
    backend: {url: "http://10.0.0.5:8080"}
`

// A portal needs a host of its own and a sign-in plug-in from the
// catalog; an app's entry is checked (one line of text, an image icon).
func TestPortalConfig(t *testing.T) {
	c, err := Parse("gatehouse.yaml", []byte(portalBase+`    portal: {name: "Human resources", icon: "data:image/png;base64,iVBORw0KGgo="}
portal:
  host: Apps.Example.com
  auth: {plugin: oidc, config: {issuer: "https://idp.example.com"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Portal.Host != "apps.example.com" || c.Portal.Title != "My Apps" || c.Apps[0].Portal.Name != "Human resources" {
		t.Errorf("portal %+v, app entry %+v", c.Portal, c.Apps[0].Portal)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"portal: {host: hr.example.com, auth: {plugin: oidc}}\n", `portal.host: host "hr.example.com" is app "hr"'s`},
		{"portal: {host: apps.example.com}\n", "portal.auth: missing"},
		{"portal: {host: apps.example.com, auth: passthrough}\n", "portal.auth: the portal needs sign-in"},
		{"portal: {host: apps.example.com, auth: {plugin: saml}}\n", `portal.auth.plugin: plug-in "saml" is not in the plugins: catalog`},
		{"portal: {auth: {plugin: oidc}}\n", "portal.host: missing"},
		{"    portal: {icon: \"javascript:alert(1)\"}\n", "apps[0].portal.icon: \"javascript:alert(1)\" is neither"},
		{"    portal: {icon: \"data:text/html;base64,PGI+\"}\n", `apps[0].portal.icon: data: icon type "text/html"`},
		{"    portal: {description: \"a\\nb\"}\n", "apps[0].portal.description: control characters"},
	} {
		_, err := Parse("gatehouse.yaml", []byte(portalBase+tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
