package connector

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// slowBackend is how long a backend may take to answer before the
// connector starts watching for the gateway abandoning the request.
const slowBackend = time.Second

// watcher handles the end of a request. The gateway closes a stream
// first, once it has the whole response (yamux resets a stream whose peer
// is slow to close, and a reset discards data the gateway has not read
// yet), or sends the next request on it. For a long response (a slow
// backend, a body that takes more than one read) a goroutine watches the
// stream while we still write: a close before the response is complete
// means the client gave up, so the backend request is cancelled and our
// blocked writes end. It only peeks, so a next request stays unread.
// Quick responses need no goroutine.
type watcher struct {
	stream net.Conn
	br     *bufio.Reader
	cancel context.CancelFunc

	mu       sync.Mutex
	armed    bool // the request is fully read: br is free for the watcher
	wanted   bool // a long response asked for the watcher
	finished bool
	done     chan struct{} // non-nil once the goroutine runs
	peekErr  error         // set by the goroutine before done closes

	abandonedByGW atomic.Bool
	writing       atomic.Bool
	hasBody       bool // the request has a body (or is an upgrade)
	bodyEOF       atomic.Bool
}

// arm says the request has been read to its end.
func (w *watcher) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = true
	w.startLocked()
}

// watch asks for the watcher: it starts now if the request is read.
func (w *watcher) watch() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wanted = true
	w.startLocked()
}

func (w *watcher) startLocked() {
	if !w.armed || !w.wanted || w.finished || w.done != nil {
		return
	}
	w.done = make(chan struct{})
	w.writing.Store(true)
	go func() {
		defer close(w.done)
		_ = w.stream.SetReadDeadline(time.Now().Add(finWait))
		_, w.peekErr = w.br.Peek(1) // the gateway's close (or next request)
		if w.writing.Load() {
			// Anything from the gateway before our response is complete
			// means it gave up on this request.
			w.abandonedByGW.Store(true)
			w.cancel()
			w.stream.Close()
		}
	}()
}

func (w *watcher) abandoned() bool { return w.abandonedByGW.Load() }

// finish ends a request whose response was complete or not. It reports
// whether the stream may carry another request, and whether br may be
// reused: not while the backend transport may still be reading an
// unfinished request body from it.
func (w *watcher) finish(complete bool) (again, reusable bool) {
	w.mu.Lock()
	w.finished = true
	done := w.done
	w.mu.Unlock()
	switch {
	case done != nil:
		w.writing.Store(false)
		_ = w.stream.SetReadDeadline(time.Now().Add(idleWait)) // the watcher now waits for the next request
		<-done
		return complete && w.peekErr == nil && !w.abandoned(), true
	case w.hasBody && !w.bodyEOF.Load():
		return false, false // the backend did not read it all, or an upgrade: close
	default:
		return complete, true // the next read sees the gateway's close or its next request
	}
}

// body wraps a request body: its EOF arms the watcher.
func (w *watcher) body(rc io.ReadCloser) io.ReadCloser {
	w.hasBody = true
	return &eofBody{ReadCloser: rc, w: w}
}

type eofBody struct {
	io.ReadCloser
	w *watcher
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.w.bodyEOF.Swap(true) {
		b.w.arm()
	}
	return n, err
}
