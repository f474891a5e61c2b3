package tunnel

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// yamux frame types as v0.1.2 writes them.
const (
	typeData         = 0
	typeWindowUpdate = 1
	typePing         = 2
)

func yamuxHdr(typ uint8, flags uint16, stream, length uint32) []byte {
	h := make([]byte, yamuxHeaderLen)
	h[0], h[1] = 0, typ
	binary.BigEndian.PutUint16(h[2:], flags)
	binary.BigEndian.PutUint32(h[4:], stream)
	binary.BigEndian.PutUint32(h[8:], length)
	return h
}

// yamuxWrites returns the Write calls yamux's send loop would make for n
// frames: a data frame is a 12-byte header write followed by one body
// write; window updates and pings are a header alone (their length field
// is not a body). Sizes mix tiny frames, 64 KiB frames and a few frames
// larger than the batch thresholds.
func yamuxWrites(rng *rand.Rand, n int) [][]byte {
	pool := make([]byte, 4*batchFlushAt)
	_, _ = crand.Read(pool)
	var out [][]byte
	for range n {
		stream := uint32(1 + 2*rng.IntN(50))
		switch r := rng.IntN(1000); {
		case r < 150:
			out = append(out, yamuxHdr(typeWindowUpdate, 0, stream, uint32(rng.IntN(1<<24))))
		case r < 180:
			out = append(out, yamuxHdr(typePing, 1, 0, rng.Uint32()))
		default:
			size := 1 + rng.IntN(1500)
			switch {
			case r < 185:
				size = 3*batchFlushAt/2 + rng.IntN(batchFlushAt) // larger than the flush threshold
			case r < 230:
				size = 64 << 10
			}
			off := rng.IntN(len(pool) - size)
			out = append(out, yamuxHdr(typeData, 0, stream, uint32(size)), pool[off:off+size])
		}
	}
	return out
}

// frameEnds returns the offsets in the yamux byte stream b at which a
// frame ends.
func frameEnds(t *testing.T, b []byte) map[int]bool {
	ends := map[int]bool{0: true}
	for off := 0; off < len(b); {
		if len(b)-off < yamuxHeaderLen {
			t.Fatalf("stream ends inside a header at offset %d", off)
		}
		h := b[off : off+yamuxHeaderLen]
		off += yamuxHeaderLen
		if h[1] == typeData {
			off += int(binary.BigEndian.Uint32(h[8:]))
		}
		if off > len(b) {
			t.Fatalf("stream ends inside a body")
		}
		ends[off] = true
	}
	return ends
}

// TestBatchConnFrameBoundaries feeds BatchConn the exact write pattern of
// yamux's sender and checks what reaches the connection: the same bytes in
// the same order, in far fewer writes when the connection is slow, and no
// write that ends inside a frame unless at least batchFlushAt bytes were
// pending (the flusher writes everything pending, so a write's length is
// what was pending).
func TestBatchConnFrameBoundaries(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration // per underlying write
		seed  uint64
	}{
		{"fast connection", 0, 1},
		{"slow connection", 300 * time.Microsecond, 2},
		{"slow connection, other frames", 300 * time.Microsecond, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newRecordConn()
			rc.delay = tt.delay
			b := NewBatchConn(rc)
			writes := yamuxWrites(rand.New(rand.NewPCG(tt.seed, 0)), 1200)
			var want bytes.Buffer
			for _, w := range writes {
				want.Write(w)
				n, err := b.Write(w)
				if n != len(w) || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", len(w), n, err)
				}
			}
			if err := b.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			got := rc.snapshot()
			if !bytes.Equal(bytes.Join(got, nil), want.Bytes()) {
				t.Fatalf("connection received %d bytes that differ from the %d written", len(bytes.Join(got, nil)), want.Len())
			}
			ends := frameEnds(t, want.Bytes())
			off, bad := 0, 0
			for i, w := range got {
				off += len(w)
				if !ends[off] && len(w) < batchFlushAt {
					if bad < 5 {
						t.Errorf("write #%d (%d bytes) ends inside a frame at stream offset %d with only %d bytes pending",
							i, len(w), off, len(w))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d writes ended mid-frame below the %d-byte flush threshold", bad, len(got), batchFlushAt)
			}
			if tt.delay > 0 && len(got) > len(writes)/4 {
				t.Errorf("%d underlying writes for %d yamux writes: writes are not being batched", len(got), len(writes))
			}
			t.Logf("%d yamux writes became %d connection writes", len(writes), len(got))
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// batchState is what the batch holds and has decided: the bytes queued,
// whether they are due for a flush, whether the flusher is writing, and
// the sticky error. Write decides "due" before it returns, and the
// flusher only ever takes what is due, so a test can read the decision
// instead of waiting to see whether a flush happens.
func batchState(b *BatchConn) (pending int, ready, busy bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending), b.ready, b.busy, b.err
}

// writerStuck reports whether the flusher is inside a write that does not
// return and a full batch blocks the writer. A writer that waited before
// the flusher took the whole batch sleeps until the next broadcast with
// little queued, so it is woken here (waiters recheck their condition):
// it then fills the batch again and blocks on it.
func writerStuck(b *BatchConn) bool {
	b.mu.Lock()
	b.cond.Broadcast()
	b.mu.Unlock()
	pending, _, busy, _ := batchState(b)
	return busy && pending >= batchMax
}

// A frame written alone goes out at once, header and body in one write;
// a header whose body is still due is held back.
func TestBatchConnLoneFrames(t *testing.T) {
	rc := newRecordConn()
	b := NewBatchConn(rc)
	defer b.Close()
	for i := range 50 {
		size := 1 + i*97
		if _, err := b.Write(yamuxHdr(typeData, 0, 1, uint32(size))); err != nil {
			t.Fatal(err)
		}
		if pending, ready, _, _ := batchState(b); ready || pending != yamuxHeaderLen || len(rc.snapshot()) != i {
			t.Fatalf("frame %d: a header without its body is due for a flush (queued %d, due %v) or was flushed", i, pending, ready)
		}
		if _, err := b.Write(bytes.Repeat([]byte{byte(i)}, size)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("frame %d to be flushed", i), func() bool { return len(rc.snapshot()) == i+1 })
		if w := rc.snapshot()[i]; len(w) != yamuxHeaderLen+size {
			t.Fatalf("frame %d went out as a %d-byte write, want header and body together (%d)", i, len(w), yamuxHeaderLen+size)
		}
	}
	// Window updates carry no body: each is a complete frame by itself.
	if _, err := b.Write(yamuxHdr(typeWindowUpdate, 0, 1, 1<<20)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "window update to be flushed", func() bool { return len(rc.snapshot()) == 51 })
}

// TestBatchConnYamuxStreams runs a real yamux client and server, each over
// a BatchConn, and moves random data through many concurrent streams both
// ways.
func TestBatchConnYamuxStreams(t *testing.T) {
	for _, tr := range pairKinds {
		t.Run(tr.name, func(t *testing.T) {
			cc, sc := tr.pair(t)
			client, server := muxPair(t, cc, sc, true)
			go echoAll(server)
			const streams = 40
			errs := make(chan error, streams)
			for i := range streams {
				go func() { errs <- echoOnce(client, uint64(i)) }()
			}
			for range streams {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// echo answers every stream with what it receives, then closes it.
func echoAll(s *yamux.Session) {
	for {
		st, err := s.AcceptStream()
		if err != nil {
			return
		}
		go func() {
			defer st.Close()
			_, _ = io.Copy(st, st)
		}()
	}
}

// echoOnce sends a random amount of random data in random-sized writes on
// a new stream and checks it comes back intact.
func echoOnce(s *yamux.Session, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 42))
	size := rng.IntN(768 << 10)
	if seed%8 == 0 {
		size = rng.IntN(16) // some tiny streams, including empty ones
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	st, err := s.OpenStream()
	if err != nil {
		return fmt.Errorf("stream %d: open: %w", seed, err)
	}
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(60 * time.Second))
	werr := make(chan error, 1)
	go func() {
		rest := data
		for len(rest) > 0 {
			n := min(len(rest), 1+rng.IntN(100<<10))
			if _, err := st.Write(rest[:n]); err != nil {
				werr <- err
				return
			}
			rest = rest[n:]
		}
		werr <- st.Close() // half-close: the echo side sees EOF
	}()
	got, err := io.ReadAll(st)
	if err != nil {
		return fmt.Errorf("stream %d: read after %d of %d bytes: %w", seed, len(got), size, err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("stream %d: write: %w", seed, err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("stream %d: %d bytes came back different from the %d sent", seed, len(got), size)
	}
	return nil
}

// lockedBuffer is a bytes.Buffer safe for one writer and other readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// Close flushes what is pending, including a frame still incomplete that
// only Close may flush.
func TestBatchConnCloseFlushes(t *testing.T) {
	c, s := net.Pipe()
	defer s.Close()
	b := NewBatchConn(c)
	var got lockedBuffer
	done := make(chan error, 1)
	go func() { _, err := io.Copy(&got, s); done <- err }()

	var want bytes.Buffer
	for _, w := range yamuxWrites(rand.New(rand.NewPCG(7, 7)), 40) {
		want.Write(w)
		if _, err := b.Write(w); err != nil {
			t.Fatal(err)
		}
	}
	// Complete frames go out by themselves.
	waitFor(t, "complete frames to reach the peer", func() bool { return got.Len() == want.Len() })
	// A header and half its body: pending ends mid-frame, below the flush
	// threshold, so it stays queued until Close.
	partial := [][]byte{yamuxHdr(typeData, 0, 3, 100), bytes.Repeat([]byte{'z'}, 50)}
	for _, w := range partial {
		want.Write(w)
		if _, err := b.Write(w); err != nil {
			t.Fatal(err)
		}
	}
	if pending, ready, busy, _ := batchState(b); ready || busy || pending != 62 || got.Len() != want.Len()-62 {
		t.Fatalf("an incomplete frame is due for a flush before Close (queued %d, due %v, writing %v; peer has %d of %d)",
			pending, ready, busy, got.Len(), want.Len())
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("peer read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("peer saw no EOF after Close")
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("peer received %d bytes, want the %d written before Close", got.Len(), want.Len())
	}
	if n, err := b.Write(yamuxHdr(typeWindowUpdate, 0, 1, 1)); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %d, %v; want net.ErrClosed", n, err)
	}
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("a second Close hung")
	}
}

// Close returns within about its one-second write deadline even when the
// peer never reads, and releases writers blocked on a full batch.
func TestBatchConnCloseWithStuckPeer(t *testing.T) {
	tests := []struct {
		name string
		pair connPair
	}{
		{"pipe", pipePair},
		{"tcp", tcpPair},
		{"tls", tlsPair},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := tt.pair(t) // the server side is never read
			b := NewBatchConn(c)
			body := make([]byte, 64<<10)
			writer := make(chan error, 1)
			var accepted atomic.Int64
			go func() {
				for {
					if _, err := b.Write(yamuxHdr(typeData, 0, 1, uint32(len(body)))); err != nil {
						writer <- err
						return
					}
					if _, err := b.Write(body); err != nil {
						writer <- err
						return
					}
					accepted.Add(int64(len(body)))
				}
			}()
			// Wait until the writer is stuck: socket buffers and the batch are full.
			waitFor(t, "the writer to block on a full batch", func() bool { return writerStuck(b) })
			if last := accepted.Load(); last > 64<<20 {
				t.Fatalf("writer never blocked (%d bytes accepted)", last)
			}
			closed := make(chan error, 1)
			go func() { closed <- b.Close() }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("Close hung with a peer that does not read")
			}
			select {
			case err := <-writer:
				if err == nil {
					t.Fatal("blocked writer returned nil")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a writer blocked on a full batch was not released by Close")
			}
		})
	}
}

// Writers block while batchMax bytes are pending and resume once the
// connection drains; nothing is lost or reordered.
func TestBatchConnBackpressure(t *testing.T) {
	rc := newRecordConn()
	rc.unblock = make(chan struct{})
	b := NewBatchConn(rc)
	var writes [][]byte
	for i := range 80 {
		body := bytes.Repeat([]byte{byte(i)}, 64<<10)
		writes = append(writes, yamuxHdr(typeData, 0, 1, uint32(len(body))), body, yamuxHdr(typeWindowUpdate, 0, 3, 1))
	}
	var total int
	for _, w := range writes {
		total += len(w)
	}
	if total < 4*batchMax {
		t.Fatalf("test needs more data: %d bytes", total)
	}
	var accepted atomic.Int64
	done := make(chan error, 1)
	go func() {
		for _, w := range writes {
			if _, err := b.Write(w); err != nil {
				done <- err
				return
			}
			accepted.Add(int64(len(w)))
		}
		done <- nil
	}()
	waitFor(t, "the writer to block on a full batch", func() bool { return writerStuck(b) })
	select {
	case err := <-done:
		t.Fatalf("all %d bytes accepted while the connection was blocked (err %v)", total, err)
	default:
	}
	// One batch is stuck in the connection; at most batchMax more plus
	// the write that crossed it may be queued.
	if got, limit := accepted.Load(), int64(2*batchMax+2*batchFlushAt); got > limit {
		t.Fatalf("%d bytes accepted while blocked, want at most %d", got, limit)
	}
	close(rc.unblock)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("writer did not resume")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := bytes.Join(rc.snapshot(), nil), bytes.Join(writes, nil); !bytes.Equal(got, want) {
		t.Fatalf("received %d bytes, want %d in order", len(got), len(want))
	}
}

// The first write error sticks: every later Write returns it, and Close
// still returns promptly.
func TestBatchConnStickyError(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		failAfter int
	}{
		{"first write fails", 0},
		{"third write fails", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newRecordConn()
			rc.failAfter, rc.failErr = tt.failAfter, errBoom
			b := NewBatchConn(rc)
			frame := [][]byte{yamuxHdr(typeData, 0, 1, 10), make([]byte, 10)}
			// One frame at a time, each flushed (or failed) before the next.
			var err error
			for i := 0; err == nil && i <= tt.failAfter+1; i++ {
				for _, w := range frame {
					if _, err = b.Write(w); err != nil {
						break
					}
				}
				waitFor(t, "the frame's flush", func() bool {
					_, ready, busy, ferr := batchState(b)
					return (!ready && !busy) || ferr != nil
				})
			}
			if err == nil {
				_, err = b.Write(frame[0])
			}
			if !errors.Is(err, errBoom) {
				t.Fatalf("Write = %v, want the connection's error", err)
			}
			for i := range 3 {
				if n, err := b.Write(frame[0]); n != 0 || !errors.Is(err, errBoom) {
					t.Fatalf("Write #%d after the failure = %d, %v; want 0, boom", i, n, err)
				}
			}
			if got := len(rc.snapshot()); got != tt.failAfter {
				t.Fatalf("%d writes reached the connection, want %d", got, tt.failAfter)
			}
			closed := make(chan struct{})
			go func() { b.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(3 * time.Second):
				t.Fatal("Close hung after a write error")
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if !rc.closed {
				t.Fatal("Close did not close the connection")
			}
		})
	}
}

// BenchmarkBatchConn compares yamux over TLS on loopback with and without
// BatchConn: one bulk stream, and many small request/response streams.
func BenchmarkBatchConn(b *testing.B) {
	for _, batch := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "batch"}[batch]
		b.Run(name+"/bulk", func(b *testing.B) {
			cc, sc := tlsPair(b)
			client, server := muxPair(b, cc, sc, batch)
			go func() {
				for {
					st, err := server.AcceptStream()
					if err != nil {
						return
					}
					go func() { _, _ = io.Copy(io.Discard, st); st.Close() }()
				}
			}()
			st, err := client.OpenStream()
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := st.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			st.Close()
		})
		b.Run(name+"/small", func(b *testing.B) {
			cc, sc := tlsPair(b)
			client, server := muxPair(b, cc, sc, batch)
			go echoAll(server)
			msg := bytes.Repeat([]byte{'x'}, 100)
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, len(msg))
				for pb.Next() {
					st, err := client.OpenStream()
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := st.Write(msg); err != nil {
						b.Error(err)
						return
					}
					if _, err := io.ReadFull(st, buf); err != nil {
						b.Error(err)
						return
					}
					st.Close()
				}
			})
		})
	}
}
