// Package linebuf batches log lines: a Writer takes whole lines (one
// Write per line, as log/slog's handlers do) and writes them out together
// every interval, or at once when a batch is full, so that an access log
// costs one system call per batch rather than one per request. Batches
// are cut at line ends and never exceed PIPE_BUF (4 KiB), so a batch
// written to a pipe shared with other writers (journald, a container
// runtime) lands in one piece.
package linebuf

import (
	"io"
	"os"
	"sync"
	"time"
)

// Batch sizes: PIPE_BUF, which POSIX writes to a pipe atomically, when
// the log is a pipe; more for files and sockets.
const (
	pipeBatch = 4096
	fileBatch = 64 << 10
)

// Writer buffers lines for w. It is safe for concurrent use.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	batch int
	buf   []byte
	err   error
	stop  chan struct{}
	done  chan struct{}
}

// New returns a Writer that flushes to w every interval (and when a
// batch is full); Close flushes and stops it.
func New(w io.Writer, interval time.Duration) *Writer {
	size := fileBatch
	if f, ok := w.(*os.File); !ok || isPipe(f) {
		size = pipeBatch
	}
	b := &Writer{w: w, batch: size, buf: make([]byte, 0, size), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(interval)
	return b
}

func (b *Writer) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			_ = b.Flush()
		}
	}
}

// Write adds p, which should be whole lines, to the batch; a full batch
// is written out first.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > b.batch {
		b.flushLocked()
	}
	if len(p) > b.batch { // a line longer than a batch goes out alone
		_, err := b.w.Write(p)
		return len(p), err
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes out what is buffered.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}

func (b *Writer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	if _, err := b.w.Write(b.buf); err != nil && b.err == nil {
		b.err = err
	}
	b.buf = b.buf[:0]
}

// Close flushes and stops the periodic flush; later writes still reach
// the buffer and need another Flush.
func (b *Writer) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	return b.Flush()
}

func isPipe(f *os.File) bool {
	st, err := f.Stat()
	return err != nil || st.Mode()&os.ModeNamedPipe != 0
}
