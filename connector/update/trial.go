package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// TrialFlag starts a connector as a trial run: it says so in its hello,
// serves only the gateway's probe, and exits 0 when the gateway sends
// tunnel.MsgTrialPassed. The launcher does not run in a trial.
const TrialFlag = "--trial"

// tailBytes bounds the trial output kept for the report.
const tailBytes = 2048

// runTrial runs bin as a trial connector on the same state and flags and
// waits until it exits: 0 within timeout passes.
func runTrial(ctx context.Context, bin, stateDir string, args []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, TrialArgs(stateDir, args)...)
	cmd.Env = withoutEnv(os.Environ(), "GATEHOUSE_TOKEN")
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("the trial run did not pass the gateway's probe within %s; its last output: %s", timeout, out.String())
	case ctx.Err() != nil:
		return fmt.Errorf("the trial run was stopped: %w", ctx.Err())
	}
	return fmt.Errorf("the trial run failed (%v); its last output: %s", err, out.String())
}

// TrialArgs are the trial run's arguments: --state, the connector's own
// flags without --token, --state or --trial, and --trial.
func TrialArgs(stateDir string, args []string) []string {
	out := []string{"--state", stateDir}
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") {
			out = append(out, args[i])
			continue
		}
		switch name {
		case "token", "state":
			if !hasValue {
				i++ // its value
			}
			continue
		case "trial":
			continue
		}
		out = append(out, args[i])
	}
	return append(out, TrialFlag)
}

func withoutEnv(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// tail keeps the last tailBytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailBytes:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := bytes.TrimSpace(t.buf)
	if len(b) == 0 {
		return "(none)"
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}
