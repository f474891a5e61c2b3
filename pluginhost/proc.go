package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/wire"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// proc is one running plug-in process, configured for its app.
type proc struct {
	client  *goplugin.Client
	cmd     *exec.Cmd // started by client
	rpc     *rpcClient
	pid     int
	started time.Time
	caps    []sdk.Capability // declared in the answer to Configure

	broken     chan struct{} // closed when a call found the process unreachable
	markBroken func()
	probing    atomic.Bool // a health check is under way
}

// exited is closed when the process has exited.
func (p *proc) exited() <-chan struct{} { return p.rpc.exited.Done() }

// killGrace is how long a process asked to stop may take before it is
// killed. go-plugin's graceful stop waits for the plug-in to answer a
// shutdown request, which a stopped (frozen) process never does.
const killGrace = 3 * time.Second

// kill stops the process (gracefully first) and waits for it. It may be
// called more than once.
func (p *proc) kill() { stop(p.client, p.cmd) }

// stop stops the process of client, started from cmd, gracefully first,
// and waits for it.
func stop(client *goplugin.Client, cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		client.Kill()
	}()
	select {
	case <-done:
	case <-time.After(killGrace):
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		<-done
	}
}

// killNow kills the process at once (SIGKILL ends a stopped process too),
// without asking it first, and waits for it: for a process that crashed
// or stopped answering.
func (p *proc) killNow() {
	_ = p.cmd.Process.Kill() // ErrProcessDone: it has exited already
	p.client.Kill()
}

// start starts a process for the instance and configures it.
func (in *instance) start(ctx context.Context) (*proc, error) {
	cfg, err := json.Marshal(in.use.Config)
	if err != nil {
		return nil, &ConfigError{App: in.use.App, Plugin: in.entry.Name, Problem: "cannot be sent as JSON: " + err.Error()}
	}
	cmd, err := in.entry.command(in.host.Executable)
	if err != nil {
		return nil, err
	}
	cmd.Env = childEnv()
	startTimeout := in.host.StartTimeout
	if dl, ok := ctx.Deadline(); ok {
		startTimeout = min(startTimeout, time.Until(dl))
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: wire.Handshake(in.host.ProtocolVersion),
		VersionedPlugins: map[int]goplugin.PluginSet{
			in.host.ProtocolVersion: {in.kind: &clientPlugin{service: wire.Service(in.kind)}},
		},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     startTimeout,
		Logger:           newHCLogger(in.log),
		SyncStdout:       newLineLogger(in.log, "stdout"),
		SyncStderr:       newLineLogger(in.log, "stderr"),
	})
	p, err := in.connect(ctx, client, cfg)
	if err != nil {
		stop(client, cmd)
		return nil, err
	}
	p.cmd = cmd
	return p, nil
}

// connect completes the handshake on a new client and sends Configure.
func (in *instance) connect(ctx context.Context, client *goplugin.Client, cfg []byte) (*proc, error) {
	cp, err := client.Client()
	if err != nil {
		return nil, in.startError(err)
	}
	raw, err := cp.Dispense(in.kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	p := &proc{client: client, rpc: raw.(*rpcClient), started: in.host.Clock.Now(), broken: make(chan struct{})}
	p.markBroken = sync.OnceFunc(func() { close(p.broken) })
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	ctx, cancel := in.host.withDeadline(ctx)
	defer cancel()
	req := sdk.ConfigureRequest{App: in.use.App, Plugin: in.entry.Name, Config: cfg, Keys: in.use.Keys, CheckOnly: in.use.CheckOnly}
	var resp sdk.ConfigureResponse
	if err := p.rpc.invoke(ctx, wire.MethodConfigure, req, &resp); err != nil {
		return nil, in.configureError(err)
	}
	p.caps = resp.Capabilities
	return p, nil
}

var pluginVersion = regexp.MustCompile(`Plugin version: (\d+)`)

// startError explains a failed start. go-plugin reports a version mismatch
// only as text, so that text is matched here.
func (in *instance) startError(err error) error {
	if m := pluginVersion.FindStringSubmatch(err.Error()); m != nil && strings.Contains(err.Error(), "incompatible API version") {
		return fmt.Errorf("%s: %w: the plug-in speaks protocol version %s and this host speaks %d; rebuild it against the sdk of this Gatehouse release",
			in, ErrIncompatible, m[1], in.host.ProtocolVersion)
	}
	return fmt.Errorf("%s: starting it: %w", in, err)
}

// configureError explains a refused Configure.
func (in *instance) configureError(err error) error {
	st, _ := status.FromError(err)
	switch {
	case st.Code() == codes.InvalidArgument:
		return &ConfigError{App: in.use.App, Plugin: in.entry.Name, Problem: st.Message()}
	case st.Code() == codes.Unimplemented:
		return fmt.Errorf("%s: %w: it does not serve %s", in, ErrWrongKind, wire.Service(in.kind))
	}
	return in.callError(wire.MethodConfigure, err)
}

// callError turns an error from a call into one that says which plug-in
// and app, and wraps a sentinel the caller can test.
func (in *instance) callError(method string, err error) error {
	st, _ := status.FromError(err)
	switch {
	case st.Code() == codes.DeadlineExceeded:
		return fmt.Errorf("%s: %s: %w", in, method, context.DeadlineExceeded)
	case st.Code() == codes.Canceled:
		return fmt.Errorf("%s: %s: %w", in, method, context.Canceled)
	case wire.IsPanic(st):
		return fmt.Errorf("%s: %s: %w: %s", in, method, ErrPanicked, strings.TrimPrefix(st.Message(), wire.PanicPrefix))
	case st.Code() == codes.Unavailable:
		return fmt.Errorf("%s: %s: %w: %s", in, method, ErrUnavailable, st.Message())
	}
	return fmt.Errorf("%s: %s failed: %s", in, method, st.Message())
}
