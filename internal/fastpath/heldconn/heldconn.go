// Package heldconn lets the owner of a TLS connection send the records of
// one large write with one syscall. crypto/tls writes every record (at
// most 16 KiB) with its own Write on the connection below it; a Conn under
// the TLS layer passes writes through, except between Hold and Release,
// when it collects them and then sends them together.
package heldconn

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
)

// Conn is a connection to put under crypto/tls. Writes made while it is
// held (by its holder, and anything TLS writes meanwhile, such as an alert)
// are collected in order.
type Conn struct {
	net.Conn

	holder sync.Mutex // held from Hold to Release: holders take turns
	mu     sync.Mutex
	held   *[]byte // nil: not holding
}

// bufs holds the buffers of writes under way: a Conn keeps none while
// idle.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 256<<10); return &b }}

// New wraps c.
func New(c net.Conn) *Conn { return &Conn{Conn: c} }

func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held != nil {
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// Hold starts collecting writes, once any other holder has released. The
// holder must not block on the peer (a read, or a write that waits for
// the peer) until Release: nothing collected has been sent.
func (c *Conn) Hold() {
	c.holder.Lock()
	c.mu.Lock()
	c.held = bufs.Get().(*[]byte)
	c.mu.Unlock()
}

// Release writes what was collected, in one call, and passes writes
// through again.
func (c *Conn) Release() error {
	defer c.holder.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.held
	c.held = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	*b = (*b)[:0]
	bufs.Put(b)
	return err
}

// CloseWrite half-closes the connection below, if it can (TCP can).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Of returns the Conn under a TLS connection, or nil. A wrapper of a TLS
// connection may name it with a TLSConn method.
func Of(c net.Conn) *Conn {
	if w, ok := c.(interface{ TLSConn() *tls.Conn }); ok {
		c = w.TLSConn()
	}
	if tc, ok := c.(*tls.Conn); ok {
		hc, _ := tc.NetConn().(*Conn)
		return hc
	}
	return nil
}

// WriteTLS writes p to c, a TLS connection over a Conn, with one syscall.
// Any other connection gets a plain c.Write.
func WriteTLS(c net.Conn, p []byte) (int, error) {
	hc := Of(c)
	if hc == nil {
		return c.Write(p)
	}
	hc.Hold()
	n, err := c.Write(p)
	if rerr := hc.Release(); err == nil {
		err = rerr
	}
	return n, err
}

// Listener wraps the connections ln accepts, to be put under TLS (for
// example by http.Server.ServeTLS).
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return New(c), nil
}
