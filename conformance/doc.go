// Package conformance is the kit every Gatehouse plug-in must pass, run
// against a real plug-in binary over the real protocol: handshake and
// version negotiation, strict config, deadlines and cancellation, garbage
// and oversized input, concurrency, panics and clean shutdown.
//
// Plug-in authors use it from a test:
//
//	func TestConformance(t *testing.T) {
//		bin := conformance.Build(t, ".")
//		conformance.RunAuthenticator(t, bin, map[string]any{"header": "X-Api-Key"})
//	}
//
// and operators from the command line: gatehouse plugin check PATH.
package conformance
