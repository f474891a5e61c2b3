package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apps[].saml_idp: the SP metadata is read and checked at load, defaults
// are filled in, and each bad setting is named.
func TestSAMLIdPConfig(t *testing.T) {
	dir := t.TempDir()
	md := `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://hr.example.com/sp"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://hr.example.com/acs" index="0"/></SPSSODescriptor></EntityDescriptor>`
	if err := os.WriteFile(filepath.Join(dir, "sp.xml"), []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	other := strings.ReplaceAll(md, "hr.example.com/acs", "evil.example.com/acs")
	if err := os.WriteFile(filepath.Join(dir, "evil.xml"), []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	const head = "plugins:\n  - {name: oidc, builtin: true}\nconnector_groups: [{name: default}]\napps:\n"
	app := func(extra string) string {
		return head + "  - {name: hr, host: hr.example.com, group: default, backend: {url: \"http://10.0.0.5\"}, auth: {plugin: oidc, config: {issuer: \"http://127.0.0.1:1\"}}, saml_idp: " + extra + "}\n"
	}
	for _, tc := range []struct{ name, yaml, err string }{
		{"file", app("{sp_metadata_file: sp.xml, attributes: {mail: email, memberOf: groups}}"), ""},
		{"inline", app("{sp_metadata: '" + md + "', name_id_format: unspecified, name_id_value: upn}"), ""},
		{"neither", app("{name_id_format: email}"), "apps[0].saml_idp: give the service provider's metadata in exactly one of"},
		{"missing file", app("{sp_metadata_file: nope.xml}"), "apps[0].saml_idp.sp_metadata_file: cannot read the SP metadata"},
		{"other host", app("{sp_metadata_file: evil.xml}"), `must be on the app's host "hr.example.com"`},
		{"bad format", app("{sp_metadata_file: sp.xml, name_id_format: x509}"), `apps[0].saml_idp.name_id_format: unknown NameID format "x509"`},
		{"bad source", app("{sp_metadata_file: sp.xml, attributes: {mail: phone}}"), `apps[0].saml_idp.attributes.mail: attribute "mail": unknown source "phone"`},
		{"attributes not a map", app("{sp_metadata_file: sp.xml, attributes: [email]}"), "expected a mapping of SAML attribute names"},
		{"long lifetime", app("{sp_metadata_file: sp.xml, assertion_lifetime: 2h}"), "apps[0].saml_idp.assertion_lifetime: 2h0m0s is out of range"},
		{"unknown key", app("{sp_metadata_file: sp.xml, nameid: email}"), "nameid"},
		{"passthrough", strings.Replace(app("{sp_metadata_file: sp.xml}"), `auth: {plugin: oidc, config: {issuer: "http://127.0.0.1:1"}}`, "auth: passthrough", 1),
			"apps[0].saml_idp: the SAML identity provider needs a signed-in user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(filepath.Join(dir, "gatehouse.yaml"), []byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := c.Apps[0].SAMLIdP
			if s == nil || !strings.Contains(string(s.Metadata), "hr.example.com/sp") || s.AssertionLifetime.D() != 5*time.Minute {
				t.Errorf("saml_idp = %+v", s)
			}
		})
	}
}
