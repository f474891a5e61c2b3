package signin

import (
	"strings"
	"testing"
)

// foldSeeds are cookie names around the gateway's prefix: cases, the
// characters PHP folds, padding, quotes, Unicode that lower-cases to
// ASCII (the Kelvin sign, dotted capital I) and invalid UTF-8.
var foldSeeds = []string{
	"", "__Host-gatehouse", "__host-gatehouse.hr", "__HOST-GATEHOUSE-state.hr", "  \"__Host_gatehouse\"",
	"__Host.gatehouse", "__Host[gatehouse", "__Host gatehouse", "\x7f\t__Host-gatehouse", "__Host-gatehous",
	"__Host-gatehousf", "_\u212aHost-gatehouse", "__Host-gatehouse\xff", "__Ho\xffst-gatehouse", "__Host-gateh\u0130use",
	"session", "gatehouse", "__Host-gatehouse.hr=x", "\u00e5__Host-gatehouse", "__Host-gatehouse\u212a",
}

// foldedIsGateway answers as the folded name's prefix does, on every seed
// and on every name the fuzzer makes.
func FuzzFoldedIsGateway(f *testing.F) {
	for _, s := range foldSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := foldedIsGateway(name), strings.HasPrefix(foldCookieName(name), gatewayCookieFolded); got != want {
			t.Fatalf("foldedIsGateway(%q) = %v, want %v", name, got, want)
		}
	})
}

// Refusing the gateway's cookies costs no allocation for a name.
func TestFoldedIsGatewayNoAlloc(t *testing.T) {
	if !foldedIsGateway("__Host-gatehouse.hr") || foldedIsGateway("other") {
		t.Fatal("foldedIsGateway answers wrongly")
	}
	if n := testing.AllocsPerRun(100, func() { foldedIsGateway(" __HOST_Gatehouse.hr") }); n != 0 {
		t.Fatalf("%v allocations per name, want 0", n)
	}
}
