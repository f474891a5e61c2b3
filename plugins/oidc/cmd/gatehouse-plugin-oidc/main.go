// Command gatehouse-plugin-oidc serves the OpenID Connect Authenticator as
// a stand-alone plug-in binary. The gateway also has it built in
// ("builtin: true"); this binary is for a catalog that pins a path and
// for the conformance kit.
package main

import (
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/plugins/oidc"
	"github.com/gatehouse/gatehouse/sdk"
)

func main() {
	if err := sdk.Serve(oidc.Plugin()); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-plugin-oidc:", err)
		os.Exit(1)
	}
}
