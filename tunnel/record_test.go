package tunnel

import (
	"bytes"
	crand "crypto/rand"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// countedConn counts the writes that reach the socket.
type countedConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// One BatchConn flush over tunnel TLS is 13 records of 16 KiB, and reaches
// the socket as one write; the peer reads exactly what was sent.
func TestFlushIsOneWrite(t *testing.T) {
	rc, rs := tcpPair(t)
	counted := &countedConn{Conn: rc}
	c, s := tlsOver(t, counted, rs)
	b := NewBatchConn(c)
	defer b.Close()

	body := make([]byte, 200<<10)
	_, _ = crand.Read(body)
	want := append(yamuxHdr(typeData, 0, 1, uint32(len(body))), body...)
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, len(want))
		_, err := io.ReadFull(s, buf)
		if err != nil {
			t.Error(err)
		}
		got <- buf
	}()
	before := counted.writes.Load()
	if _, err := b.Write(want[:yamuxHeaderLen]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(want[yamuxHeaderLen:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(<-got, want) {
		t.Fatal("the peer read different bytes")
	}
	if n := counted.writes.Load() - before; n != 1 {
		t.Fatalf("%d writes reached the socket for one flush of %d bytes, want 1", n, len(want))
	}
}
