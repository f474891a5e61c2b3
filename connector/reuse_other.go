//go:build !unix

package connector

import "net"

// bytesWaiting cannot peek at a socket here: the Transport's own check
// of idle connections is the only one.
func bytesWaiting(net.Conn) bool { return false }
