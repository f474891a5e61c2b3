package samlidp

import "testing"

// ParseSP never panics, and whatever it accepts has an entity id and an
// https ACS on the app's host.
func FuzzParseSP(f *testing.F) {
	f.Add([]byte(spMetadata("https://sp/e", "https://app.test/acs", post)))
	f.Add([]byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>`))
	f.Add([]byte("<x>"))
	f.Fuzz(func(t *testing.T, md []byte) {
		ed, err := ParseSP(md, "app.test", "")
		if err != nil {
			return
		}
		if ed.EntityID == "" {
			t.Fatal("accepted without an entity id")
		}
		for _, sp := range ed.SPSSODescriptors {
			for _, acs := range sp.AssertionConsumerServices {
				if acs.Binding == post && checkACS(acs.Location, "app.test", "") != "" {
					t.Fatalf("accepted ACS %q", acs.Location)
				}
			}
		}
	})
}
