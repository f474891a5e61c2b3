package tunnel

import (
	"crypto/tls"
	"net"

	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
)

// Client is tls.Client over a connection that lets a BatchConn send each
// flush's records with one syscall (crypto/tls writes one per 16 KiB
// record: a 256 KiB flush would be 16).
func Client(raw net.Conn, cfg *tls.Config) *tls.Conn { return tls.Client(heldconn.New(raw), cfg) }

// Server is tls.Server over a connection that lets a BatchConn send each
// flush's records with one syscall.
func Server(raw net.Conn, cfg *tls.Config) *tls.Conn { return tls.Server(heldconn.New(raw), cfg) }
