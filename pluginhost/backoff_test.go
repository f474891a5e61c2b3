package pluginhost

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		if got := b.delay(n); got != want*time.Millisecond {
			t.Errorf("delay(%d) = %v, want %v", n, got, want*time.Millisecond)
		}
	}
}
