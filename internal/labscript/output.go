package labscript

import (
	"bytes"
	"sync"
)

// Output keeps what a lab's process writes (its stdout and stderr), for
// the errors and failure messages that show it. It is safe for concurrent
// use; the zero Output is empty and ready.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write keeps p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// String is all written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
