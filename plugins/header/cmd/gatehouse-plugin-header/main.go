// Command gatehouse-plugin-header serves the header Injector as a
// stand-alone plug-in binary. The gateway also has it built in
// ("builtin: true"); this binary is for connectors that pin a path and for
// the conformance kit.
package main

import (
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/plugins/header"
	"github.com/gatehouse/gatehouse/sdk"
)

func main() {
	if err := sdk.Serve(header.Plugin()); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-plugin-header:", err)
		os.Exit(1)
	}
}
