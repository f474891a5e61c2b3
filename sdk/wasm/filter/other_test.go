//go:build !wasip1

package filter

import "testing"

func TestOutsideAHostPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != notInHost {
			t.Fatalf("recovered %v, want %q", r, notInHost)
		}
	}()
	Request{}.Method()
	t.Fatal("Method returned outside a host")
}
