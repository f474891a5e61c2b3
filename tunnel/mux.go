package tunnel

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/hashicorp/yamux"
)

// StreamWindow is the most a yamux stream's receive window grows to. One
// stream moves at most window ÷ RTT, so on a long link the window, not the
// link, limits a single request; yamux's 256 KiB default is too small for
// that (TestSingleStreamOverLongLink compares the two). The window is also
// what a slow reader makes its peer buffer, so with the yamux fast path on
// (third_party/yamux/PATCHES.md) a stream starts at 256 KiB and grows
// toward StreamWindow only while its reader keeps up with the link, and
// the buffered bytes sit in pooled fixed-size chunks; with it off, every
// stream is offered the whole window at once and yamux buffers it in a
// bytes.Buffer that can grow to twice the window (see
// docs/rationale/tunnel.md).
const StreamWindow = 4 << 20

// MuxConfig returns the yamux settings both ends use, with every fast
// path on: MuxConfigFor(logger, fastpath.All).
func MuxConfig(logger *slog.Logger) *yamux.Config {
	return MuxConfigFor(logger, fastpath.All)
}

// MuxConfigFor returns the yamux settings both ends use. With the yamux
// fast path on in fp it turns on Gatehouse's patches to yamux (pooled
// receive buffers, adaptive windows, one write per frame;
// third_party/yamux/PATCHES.md); off, yamux behaves as upstream. The
// patches change only what each end does locally, so the two ends need
// not agree.
func MuxConfigFor(logger *slog.Logger, fp fastpath.Set) *yamux.Config {
	c := yamux.DefaultConfig()
	c.AcceptBacklog = 1024
	c.MaxStreamWindowSize = StreamWindow
	c.KeepAliveInterval = 10 * time.Second
	c.ConnectionWriteTimeout = 30 * time.Second
	c.StreamOpenTimeout = 15 * time.Second
	c.StreamCloseTimeout = time.Minute
	c.LogOutput = nil
	c.Logger = yamuxLogger{logger}
	patched := fp.On(fastpath.Yamux)
	c.PooledRecvBuffers = patched
	c.AdaptiveWindow = patched
	c.WriteFrameOnce = patched
	return c
}

// yamuxLogger re-emits yamux's printf-style log lines through slog.
type yamuxLogger struct{ l *slog.Logger }

func (y yamuxLogger) Print(v ...any) { y.l.Debug(fmt.Sprint(v...), "component", "yamux") }
func (y yamuxLogger) Printf(format string, v ...any) {
	y.l.Debug(fmt.Sprintf(format, v...), "component", "yamux")
}
func (y yamuxLogger) Println(v ...any) { y.Print(v...) }
