package pluginhost

import (
	"bytes"
	"log/slog"
	"sync"
)

// maxLine caps a buffered line of plug-in output; longer ones are logged in
// pieces.
const maxLine = 64 << 10

// lineLogger logs what a plug-in writes to its os.Stdout or os.Stderr
// (which go-plugin forwards over the connection), one record per line.
type lineLogger struct {
	log    *slog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func newLineLogger(l *slog.Logger, stream string) *lineLogger {
	return &lineLogger{log: l, stream: stream}
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 && len(w.buf) < maxLine {
			break
		}
		if i < 0 {
			i = maxLine
		}
		w.log.Info(string(bytes.TrimRight(w.buf[:i], "\r")), "stream", w.stream)
		w.buf = w.buf[min(i+1, len(w.buf)):]
	}
	return len(p), nil
}
