package tunnel

import (
	"crypto/tls"
	"net"
	"sync"
)

// crypto/tls writes every record, at most 16 KiB, with its own Write on
// the connection below it: a BatchConn flush of 256 KiB would be 16
// syscalls. Tunnel TLS runs over a heldConn instead, which collects the
// records of one flush and writes them with one syscall.

// Client is tls.Client over a connection that lets a BatchConn send each
// flush's records together.
func Client(raw net.Conn, cfg *tls.Config) *tls.Conn { return tls.Client(&heldConn{Conn: raw}, cfg) }

// Server is tls.Server over a connection that lets a BatchConn send each
// flush's records together.
func Server(raw net.Conn, cfg *tls.Config) *tls.Conn { return tls.Server(&heldConn{Conn: raw}, cfg) }

// recordBufs holds the buffers of flushes under way: a connection keeps
// none while idle.
var recordBufs = sync.Pool{New: func() any { b := make([]byte, 0, batchMax+batchMax/16); return &b }}

// heldConn passes writes through, except between hold and release, when
// it collects them. crypto/tls serializes its writes; mu orders them
// against release.
type heldConn struct {
	net.Conn

	mu   sync.Mutex
	held *[]byte // nil: not holding
}

func (c *heldConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held != nil {
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// hold starts collecting writes.
func (c *heldConn) hold() {
	c.mu.Lock()
	c.held = recordBufs.Get().(*[]byte)
	c.mu.Unlock()
}

// release writes what was collected, in one call, and passes writes
// through again.
func (c *heldConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.held
	c.held = nil
	_, err := c.Conn.Write(*b)
	*b = (*b)[:0]
	recordBufs.Put(b)
	return err
}

// writeRecords writes p to c as one syscall when c is a tunnel TLS
// connection made by Client or Server, and as c.Write otherwise.
func writeRecords(c net.Conn, p []byte) (int, error) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return c.Write(p)
	}
	rc, ok := tc.NetConn().(*heldConn)
	if !ok {
		return c.Write(p)
	}
	rc.hold()
	n, err := tc.Write(p)
	if rerr := rc.release(); err == nil {
		err = rerr
	}
	return n, err
}
