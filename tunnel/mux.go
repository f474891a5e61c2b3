package tunnel

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/yamux"
)

// StreamWindow is each yamux stream's receive window. One stream moves at
// most window ÷ RTT, so on a long link the window, not the link, limits a
// single request; yamux's 256 KiB default is too small for that
// (TestSingleStreamOverLongLink compares the two). The window is also
// what a slow reader makes its peer buffer: yamux keeps it in a
// bytes.Buffer that can grow to twice the window, so a larger window
// costs memory per slow client (see RATIONALE.md).
const StreamWindow = 4 << 20

// MuxConfig returns the yamux settings both ends use.
func MuxConfig(logger *slog.Logger) *yamux.Config {
	c := yamux.DefaultConfig()
	c.AcceptBacklog = 1024
	c.MaxStreamWindowSize = StreamWindow
	c.KeepAliveInterval = 10 * time.Second
	c.ConnectionWriteTimeout = 30 * time.Second
	c.StreamOpenTimeout = 15 * time.Second
	c.StreamCloseTimeout = time.Minute
	c.LogOutput = nil
	c.Logger = yamuxLogger{logger}
	return c
}

// yamuxLogger re-emits yamux's printf-style log lines through slog.
type yamuxLogger struct{ l *slog.Logger }

func (y yamuxLogger) Print(v ...any) { y.l.Debug(fmt.Sprint(v...), "component", "yamux") }
func (y yamuxLogger) Printf(format string, v ...any) {
	y.l.Debug(fmt.Sprintf(format, v...), "component", "yamux")
}
func (y yamuxLogger) Println(v ...any) { y.Print(v...) }
