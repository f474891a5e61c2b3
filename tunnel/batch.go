package tunnel

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
)

// yamux frame header: version(1) type(1) flags(2) stream(4) length(4). Only
// data frames (type 0) carry a body, of exactly length bytes.
const (
	yamuxHeaderLen = 12
	yamuxTypeData  = 0
)

// Batch thresholds: flush mid-frame once this much is pending, and block
// writers while twice as much is.
const (
	batchFlushAt = 256 << 10
	batchMax     = 2 * batchFlushAt
)

// BatchConn sits between yamux and a TLS connection. yamux's sender writes
// every frame as two calls, header then body, and over TLS each call is its
// own record and syscall. BatchConn collects writes and hands them to the
// connection only at frame boundaries, from a flusher goroutine: whatever
// is written while a flush is under way goes out together in the next one
// (group commit). Under load many frames share one record; alone, a frame
// goes out at once.
type BatchConn struct {
	net.Conn

	mu      sync.Mutex
	cond    sync.Cond
	pending []byte
	spare   []byte
	ready   bool  // pending ends at a frame boundary (or is large): flush it
	busy    bool  // the flusher is writing
	err     error // sticky write error
	closed  bool

	// frame parser state, touched only by Write (yamux has one sender)
	hdr    [yamuxHeaderLen]byte
	hdrLen int
	body   int // body bytes still due for the current data frame
}

// NewBatchConn wraps c and starts its flusher; Close stops it.
func NewBatchConn(c net.Conn) *BatchConn {
	b := &BatchConn{Conn: c}
	b.cond.L = &b.mu
	go b.flusher()
	return b
}

// Write queues p and returns once it is queued (or the connection failed).
func (b *BatchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && !b.closed && len(b.pending) >= batchMax {
		b.cond.Wait()
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return 0, net.ErrClosed
	}
	b.pending = append(b.pending, p...)
	// Flush only at a frame boundary: a header whose body is still to
	// come holds back everything queued before it too.
	b.ready = b.advance(p) || len(b.pending) >= batchFlushAt
	if b.ready {
		b.cond.Broadcast()
	}
	return len(p), nil
}

// advance runs the frame parser over p and reports whether the queued bytes
// now end at a frame boundary.
func (b *BatchConn) advance(p []byte) bool {
	for len(p) > 0 {
		if b.body > 0 {
			n := min(b.body, len(p))
			b.body -= n
			p = p[n:]
			continue
		}
		n := copy(b.hdr[b.hdrLen:], p)
		b.hdrLen += n
		p = p[n:]
		if b.hdrLen == yamuxHeaderLen {
			b.hdrLen = 0
			if b.hdr[1] == yamuxTypeData {
				b.body = int(binary.BigEndian.Uint32(b.hdr[8:12]))
			}
		}
	}
	return b.body == 0 && b.hdrLen == 0
}

func (b *BatchConn) flusher() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for !b.ready && !b.closed {
			b.cond.Wait()
		}
		if b.closed && !b.ready {
			return
		}
		out := b.pending
		b.pending, b.spare = b.spare[:0], nil
		b.ready, b.busy = false, true
		b.mu.Unlock()
		_, err := heldconn.WriteTLS(b.Conn, out)
		b.mu.Lock()
		b.busy = false
		b.spare = out[:0]
		if err != nil && b.err == nil {
			b.err = err
		}
		b.cond.Broadcast()
		if b.err != nil {
			return
		}
	}
}

// Close flushes what is queued, waiting at most a second for a peer that
// does not read, and closes the connection.
func (b *BatchConn) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		if len(b.pending) > 0 && b.err == nil {
			b.ready = true
		}
		b.cond.Broadcast()
		_ = b.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		for (b.ready || b.busy) && b.err == nil {
			b.cond.Wait()
		}
	}
	failed := b.err != nil
	b.mu.Unlock()
	if nc, ok := b.Conn.(interface{ NetConn() net.Conn }); ok && failed {
		// A TLS close would try to send close_notify for another 5 s.
		return nc.NetConn().Close()
	}
	return b.Conn.Close()
}
