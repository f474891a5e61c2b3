package tunnel

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// delayedConn delivers every write to its peer after a fixed delay, like
// one direction of a long link (bandwidth is loopback's).
type delayedConn struct {
	net.Conn
	q chan delayed
}

type delayed struct {
	at time.Time
	b  []byte
}

// delay is one direction of the simulated link: 100 ms round trip.
const delay = 50 * time.Millisecond

func newDelayedPipe() (net.Conn, net.Conn) {
	a, b := net.Pipe()
	return newDelayed(a), newDelayed(b)
}

func newDelayed(c net.Conn) *delayedConn {
	d := &delayedConn{Conn: c, q: make(chan delayed, 4096)}
	go func() {
		for w := range d.q {
			time.Sleep(time.Until(w.at))
			if _, err := c.Write(w.b); err != nil {
				return
			}
		}
	}()
	return d
}

func (d *delayedConn) Write(p []byte) (int, error) {
	d.q <- delayed{time.Now().Add(delay), append([]byte(nil), p...)}
	return len(p), nil
}

// TestSingleStreamOverLongLink measures one stream's throughput over a
// 100 ms round trip with yamux's default window and with ours. It asserts
// only the ratio of the two (ours must be several times faster), never a
// time: the figures are logged for the README.
func TestSingleStreamOverLongLink(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: moves 56 MiB over a simulated 100 ms link")
	}
	measure := func(window uint32, size int) float64 {
		a, b := newDelayedPipe()
		cfg := MuxConfig(slog.New(slog.DiscardHandler))
		cfg.MaxStreamWindowSize = window
		client, err := yamux.Client(a, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server, err := yamux.Server(b, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer server.Close()
		go func() {
			s, err := server.AcceptStream()
			if err != nil {
				return
			}
			buf := make([]byte, 256<<10)
			for sent := 0; sent < size; sent += len(buf) {
				if _, err := s.Write(buf); err != nil {
					return
				}
			}
			s.Close()
		}()
		s, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte{0}); err != nil { // SYN reaches the server
			t.Fatal(err)
		}
		start := time.Now()
		n, err := io.Copy(io.Discard, s)
		if err != nil || n < int64(size) {
			t.Fatalf("read %d of %d bytes: %v", n, size, err)
		}
		return float64(n) / time.Since(start).Seconds() / 1e6
	}
	def := measure(256<<10, 8<<20)
	ours := measure(StreamWindow, 48<<20)
	t.Logf("one stream over a %v RTT link: yamux default window 256 KiB: %.1f MB/s; Gatehouse window %d MiB: %.1f MB/s (%.0fx)",
		2*delay, def, StreamWindow>>20, ours, ours/def)
	if ours < 5*def {
		t.Errorf("the larger window should be several times faster on a long link: %.1f vs %.1f MB/s", ours, def)
	}
}
