// Command gatehouse-plugin-vault serves the password vault's Injector as a
// stand-alone plug-in binary, for connectors that pin a path and for the
// conformance kit. The connector also has it built in ("builtin: true").
package main

import (
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/plugins/vault"
	"github.com/gatehouse/gatehouse/sdk"
)

func main() {
	if err := sdk.Serve(vault.Plugin()); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-plugin-vault:", err)
		os.Exit(1)
	}
}
