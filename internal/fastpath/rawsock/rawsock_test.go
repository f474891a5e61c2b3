package rawsock

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pair returns both ends of a loopback TCP connection, each wrapped.
func pair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := Listener(ln).Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	a, err = Dialer((&net.Dialer{}).DialContext)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-accepted
	if b == nil {
		t.FailNow()
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// pattern is n bytes that differ from one offset to the next.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	if Wrap(c1) != c1 {
		t.Fatal("Wrap changed a connection that is not TCP")
	}
}

func TestDialerPassesErrorsOn(t *testing.T) {
	failed := errors.New("no route")
	c, err := Dialer(func(context.Context, string, string) (net.Conn, error) { return nil, failed })(context.Background(), "tcp", "x:1")
	if c != nil || err != failed {
		t.Fatalf("got %v, %v; want nil and the dial error", c, err)
	}
}

// Writes at, below and above rawMax, and reads into buffers larger than
// rawMax, arrive intact and in order.
func TestWritesArriveIntact(t *testing.T) {
	a, b := pair(t)
	sizes := []int{1, 100, rawMax - 1, rawMax, rawMax + 1, 3 << 20}
	go func() {
		for _, n := range sizes {
			if _, err := a.Write(pattern(n)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for _, n := range sizes {
		got := make([]byte, n)
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatalf("reading %d bytes: %v", n, err)
		}
		if !bytes.Equal(got, pattern(n)) {
			t.Fatalf("%d bytes arrived changed", n)
		}
	}
}

// A writer that fills the socket buffers waits for the reader instead of
// failing or dropping bytes.
func TestWriteWaitsForSlowReader(t *testing.T) {
	a, b := pair(t)
	want := pattern(32 << 20)
	done := make(chan error, 1)
	go func() {
		var err error
		for p := want; len(p) > 0 && err == nil; p = p[min(len(p), 16<<10):] {
			_, err = a.Write(p[:min(len(p), 16<<10)])
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the buffers fill
	select {
	case err := <-done:
		t.Fatalf("32 MiB written with nobody reading (err %v): the socket buffers cannot hold that", err)
	default:
	}
	got, err := io.ReadAll(io.LimitReader(b, int64(len(want))))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes arrived changed")
	}
}

func TestEOF(t *testing.T) {
	a, b := pair(t)
	a.Write([]byte("last"))
	a.Close()
	var got []byte
	buf := make([]byte, 8)
	for {
		n, err := b.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil || n == 0 {
			t.Fatalf("read gave %d, %v; want data, then io.EOF", n, err)
		}
	}
	if string(got) != "last" {
		t.Fatalf("got %q, want \"last\"", got)
	}
	if n, err := b.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after EOF: %d, %v; want 0, io.EOF", n, err)
	}
}

func TestDeadlines(t *testing.T) {
	a, b := pair(t)
	b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := b.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v; want a timeout", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("read past its deadline: %#v; want a net.OpError for read", err)
	}
	// The deadline cleared, the connection reads again.
	b.SetReadDeadline(time.Time{})
	a.Write([]byte("x"))
	if _, err := b.Read(make([]byte, 8)); err != nil {
		t.Fatalf("read after clearing the deadline: %v", err)
	}

	// A writer blocked on a full buffer gives up at its deadline.
	a.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	chunk := make([]byte, 16<<10)
	for {
		if _, err = a.Write(chunk); err != nil {
			break
		}
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("write past its deadline: %v; want a timeout", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	_, b := pair(t)
	errc := make(chan error, 1)
	go func() {
		_, err := b.Read(make([]byte, 8))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	b.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed connection: %v; want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock a Read")
	}
}

func TestWriteToResetPeer(t *testing.T) {
	a, b := pair(t)
	b.(interface{ SetLinger(int) error }).SetLinger(0)
	b.Close() // sends a reset
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = a.Write([]byte("hello"))
		time.Sleep(time.Millisecond)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" {
		t.Fatalf("writing to a peer that reset: %v; want a net.OpError for write", err)
	}
}

func TestCloseWriteReachesPeer(t *testing.T) {
	a, b := pair(t)
	if err := a.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("read after the peer's CloseWrite: %v; want io.EOF", err)
	}
	b.Write([]byte("still open"))
	got := make([]byte, 10)
	if _, err := io.ReadFull(a, got); err != nil || string(got) != "still open" {
		t.Fatalf("half-closed side read %q, %v", got, err)
	}
}
