//go:build linux && !race

package rawsock

import "testing"

// Without the race detector, on Linux, the tests above run over raw calls:
// pair dials through Dialer and accepts through Listener.
func TestWrapIsRaw(t *testing.T) {
	a, b := pair(t)
	if _, ok := a.(*Conn); !ok {
		t.Fatalf("Wrap gave %T, want *Conn", a)
	}
	if _, ok := b.(*Conn); !ok {
		t.Fatalf("Listener gave %T, want *Conn", b)
	}
}
