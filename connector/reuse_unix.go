//go:build unix

package connector

import (
	"net"
	"syscall"
)

// bytesWaiting reports whether bytes, or the backend's close, wait unread
// on c's socket. It peeks through RawConn.Control, which does not take
// the socket's read lock: the Transport's read loop holds that while it
// waits on the idle connection.
func bytesWaiting(c net.Conn) bool {
	sc, ok := socketOf(c).(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	waiting := false
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			waiting = err == nil // a byte, or (n == 0) the backend's close
			return
		}
	})
	return waiting
}
