package main

import (
	"maps"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/connector"
	"github.com/gatehouse/gatehouse/plugins/builtin"
)

// The connector's catalog names as built in exactly the Injectors this
// binary serves with "plugin serve NAME".
func TestBuiltinSignOnsAreTheBinarysInjectors(t *testing.T) {
	var injectors []string
	for _, name := range slices.Sorted(maps.Keys(builtin.Plugins())) {
		if builtin.Plugins()[name].Injector != nil {
			injectors = append(injectors, name)
		}
	}
	if got := slices.Sorted(slices.Values(connector.BuiltinSignOns)); !slices.Equal(got, injectors) {
		t.Fatalf("connector.BuiltinSignOns = %q; the binary's built-in Injectors are %q", got, injectors)
	}
}
