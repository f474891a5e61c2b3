package samlidp

import (
	"strings"
	"testing"
)

func spMetadata(entity, acs, binding string) string {
	return `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + entity + `">
<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<AssertionConsumerService Binding="` + binding + `" Location="` + acs + `" index="0"/>
</SPSSODescriptor></EntityDescriptor>`
}

const post = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

// ParseSP takes an SP whose ACS is on the app's host, and says what is
// wrong with anything else.
func TestParseSP(t *testing.T) {
	ed, err := ParseSP([]byte(spMetadata("https://sp/e", "https://app.test/acs", post)), "app.test", "")
	if err != nil || ed.EntityID != "https://sp/e" {
		t.Fatalf("good metadata: %v", err)
	}
	if _, err := ParseSP([]byte(spMetadata("e", "https://app.test:8443/x/acs", post)), "app.test", "/x/"); err != nil {
		t.Errorf("ACS under the prefix, with a port: %v", err)
	}
	for name, c := range map[string]struct{ md, prefix, want string }{
		"empty":      {"", "", "empty"},
		"not xml":    {"hello", "", "root element"},
		"idp":        {`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></EntityDescriptor>`, "", "no SPSSODescriptor"},
		"aggregate":  {`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>`, "", "EntitiesDescriptor"},
		"no entity":  {spMetadata("", "https://app.test/acs", post), "", "no entityID"},
		"redirect":   {spMetadata("e", "https://app.test/acs", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"), "", "HTTP-POST"},
		"http":       {spMetadata("e", "http://app.test/acs", post), "", "https"},
		"other host": {spMetadata("e", "https://evil.test/acs", post), "", "app's host"},
		"prefix":     {spMetadata("e", "https://app.test/y/acs", post), "/x/", "path_prefix"},
		"reserved":   {spMetadata("e", "https://app.test/.gatehouse/x", post), "", "/.gatehouse/"},
		"too big":    {strings.Repeat(" ", maxSPMetadata) + "x", "", "limit"},
	} {
		_, err := ParseSP([]byte(c.md), "app.test", c.prefix)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}

func TestCheckNameIDAndAttributes(t *testing.T) {
	for _, c := range [][2]string{{"", ""}, {"email", ""}, {"unspecified", "upn"}, {"transient", ""}} {
		if msg := CheckNameID(c[0], c[1]); msg != "" {
			t.Errorf("%v: %s", c, msg)
		}
	}
	for _, c := range [][2]string{{"x509", ""}, {"email", "upn"}, {"unspecified", "phone"}} {
		if msg := CheckNameID(c[0], c[1]); msg == "" {
			t.Errorf("%v accepted", c)
		}
	}
	if CheckAttribute("mail", "email") != "" || CheckAttribute("dept", "claim:dept") != "" {
		t.Error("good attributes refused")
	}
	for _, c := range [][2]string{{"mail", "phone"}, {"", "email"}, {"a<b", "email"}, {"x", "claim:"}} {
		if CheckAttribute(c[0], c[1]) == "" {
			t.Errorf("%v accepted", c)
		}
	}
}
