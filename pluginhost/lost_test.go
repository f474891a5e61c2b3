package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestLostProcess(t *testing.T) {
	exited, running := make(chan struct{}), make(chan struct{})
	close(exited)
	other := errors.New("Inject failed: boom")
	cancelled := fmt.Errorf("Inject: %w", context.Canceled)
	for _, tc := range []struct {
		name   string
		err    error
		exited chan struct{}
		want   bool
	}{
		{"the process exited", other, exited, true},
		{"the connection closed under the call", cancelled, running, true},
		{"the plug-in answered with an error", other, running, false},
		{"a deadline", fmt.Errorf("Inject: %w", context.DeadlineExceeded), running, false},
	} {
		if got := lostProcess(tc.err, tc.exited); got != tc.want {
			t.Errorf("%s: lostProcess = %v, want %v", tc.name, got, tc.want)
		}
	}
}
