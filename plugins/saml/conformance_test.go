package saml_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/conformance"
)

// The plug-in passes the whole kit. It needs no IdP running: the IdP's
// metadata comes from a file, and a well-formed call is a redirect to it.
func TestConformance(t *testing.T) {
	conformance.RunAuthenticator(t, bin, with(baseConfig(), "idp_metadata_file", staticMetadata))
}
