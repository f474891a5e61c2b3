// Command gatehouse-plugin-kcd serves the kcd Injector (Kerberos
// constrained delegation) as a plug-in binary for the connector. It is not
// built into the gateway: only a connector, which holds the keytab, runs it.
package main

import (
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/plugins/kcd"
	"github.com/gatehouse/gatehouse/sdk"
)

func main() {
	if err := sdk.Serve(kcd.Plugin()); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-plugin-kcd:", err)
		os.Exit(1)
	}
}
