//go:build unix

package leanclient

import (
	"net"
	"syscall"
)

// idleCheck tells whether a pooled backend connection may carry another
// request: nothing arrived on it while it was idle (an unsolicited
// answer, or the rest of an over-long one, which would otherwise be taken
// for the next request's answer) and the backend has not closed it. It
// peeks without blocking; http.Transport learns the same from the read it
// keeps pending on every idle connection. It keeps what it needs per
// connection, so that a check allocates nothing.
type idleCheck struct {
	rc    syscall.RawConn
	fn    func(fd uintptr) bool
	b     [1]byte
	clean bool
}

func (k *idleCheck) ok(c net.Conn) bool {
	if k.fn == nil {
		sc, ok := c.(syscall.Conn)
		if !ok {
			return true
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			return false
		}
		k.rc, k.fn = rc, k.peek
	}
	k.clean = false
	return k.rc.Read(k.fn) == nil && k.clean
}

func (k *idleCheck) peek(fd uintptr) bool {
	for {
		_, _, err := syscall.Recvfrom(int(fd), k.b[:], syscall.MSG_PEEK)
		if err == syscall.EINTR {
			continue
		}
		// Go's sockets do not block: EAGAIN means nothing to read. No
		// error is a byte or, reading 0, the backend's close.
		k.clean = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	}
}
