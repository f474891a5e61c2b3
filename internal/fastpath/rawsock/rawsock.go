// Package rawsock reads and writes TCP sockets without handing the
// goroutine's P back to the scheduler for the system call.
//
// Go's network calls are non-blocking: a read or write that cannot go on
// at once returns EAGAIN and the goroutine waits in the netpoller. Still,
// net.Conn makes every one of them a blocking-style system call
// (entersyscall/exitsyscall). On a busy process the runtime's monitor
// thread (sysmon) finds a P "in a system call" that has lasted more than
// its threshold — a loopback write delivers the segment to its reader
// inside the call — and hands the P to another thread, then polls more
// often for a while. On a small machine shared by several processes those
// wake-ups and thread switches cost the gateway and the connector a
// measurable share of their CPU (bench/RESULTS.md).
//
// A Conn does its reads and writes as raw system calls instead, through
// syscall.RawConn, so the netpoller, deadlines and Close work as before.
// A raw call keeps its P, and a long one would hold up the goroutines
// queued behind it, so a read asks for at most 64 KiB and larger writes go
// the ordinary way.
//
// Under the race detector Wrap changes nothing: the detector learns from
// the syscall package's own reads and writes that a write on one socket
// happens before the read of it on the other, and raw calls would hide
// that from it.
package rawsock

import (
	"context"
	"net"
)

// rawMax is the most a raw system call reads or writes.
const rawMax = 64 << 10

// Wrap returns c with raw reads and writes if it is a TCP connection on a
// platform that has them, and c itself otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	return wrap(tc)
}

// Listener wraps every connection ln accepts.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

// DialFunc is the shape of net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Dialer wraps every connection dial opens.
func Dialer(dial DialFunc) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return Wrap(c), nil
	}
}
