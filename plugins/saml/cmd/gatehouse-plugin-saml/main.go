// Command gatehouse-plugin-saml serves the SAML 2.0 Authenticator as a
// stand-alone plug-in binary. The gateway also has it built in
// ("builtin: true"); this binary is for a catalog that pins a path and
// for the conformance kit.
package main

import (
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/plugins/saml"
	"github.com/gatehouse/gatehouse/sdk"
)

func main() {
	if err := sdk.Serve(saml.Plugin()); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-plugin-saml:", err)
		os.Exit(1)
	}
}
