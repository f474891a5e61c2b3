// Package builtin lists the plug-ins built into the gatehouse and
// gatehouse-connector binaries. A host runs one by starting its own
// binary as "plugin serve NAME", so a release is one artifact per side.
package builtin

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/plugins/header"
	"github.com/gatehouse/gatehouse/plugins/kcd"
	"github.com/gatehouse/gatehouse/plugins/oidc"
	"github.com/gatehouse/gatehouse/plugins/saml"
	"github.com/gatehouse/gatehouse/plugins/vault"
	"github.com/gatehouse/gatehouse/sdk"
)

// Plugins returns the built-in plug-ins by catalog name.
func Plugins() map[string]sdk.Plugin {
	return map[string]sdk.Plugin{
		"header": header.Plugin(),
		"oidc":   oidc.Plugin(),
		"saml":   saml.Plugin(),
		"kcd":    kcd.Plugin(),
		"vault":  vault.Plugin(),
	}
}

// Serve serves the built-in plug-in name over go-plugin (stdin/stdout
// belong to the host from here on).
func Serve(name string) error {
	p, ok := Plugins()[name]
	if !ok {
		return fmt.Errorf("no built-in plug-in %q (built in: %s)", name, strings.Join(slices.Sorted(maps.Keys(Plugins())), ", "))
	}
	return sdk.Serve(p)
}
