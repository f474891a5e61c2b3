package yamux

// Tests of patch 1, PooledRecvBuffers (PATCHES.md).

import (
	"bytes"
	"errors"
	"math/rand"
	"testing"
)

// The same bytes arrive with and without the patch, for frames and reads
// of random sizes (and with the other patches on too).
func TestPatchPooledRecvIntegrity(t *testing.T) {
	rng := rand.New(rand.NewSource(22))
	data := randomBytes(rng, 6<<20+12345)
	for _, tc := range []struct {
		name                   string
		pooled, adaptive, once bool
	}{
		{"upstream", false, false, false},
		{"pooled", true, false, false},
		{"all patches", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := func() *Config { return patchConf(tc.pooled, tc.adaptive, tc.once) }
			got := transfer(t, conf(), conf(), data, 7)
			if !bytes.Equal(got, data) {
				t.Fatalf("received %d bytes that differ from the %d sent", len(got), len(data))
			}
		})
	}
}

// In steady state a data frame costs no allocation with the patch: it is
// read into pooled chunks, and Read gives them back. Held bytes never
// exceed the window, and a stream that has read everything holds no chunk.
func TestPatchPooledRecvSteadyState(t *testing.T) {
	l := newLoneStream(t, patchConf(true, false, false))
	frame := randomBytes(rand.New(rand.NewSource(1)), 40<<10) // spans two chunks
	out := make([]byte, 16<<10)
	round := func() {
		if err := l.feed(frame); err != nil {
			t.Fatal(err)
		}
		var got []byte
		l.recvLock.Lock()
		for l.bufferedLen() > 0 {
			n := l.readBuffered(out)
			got = append(got, out[:n]...)
		}
		l.recvWindow += uint32(len(frame)) // as the window update would
		l.recvLock.Unlock()
		if !bytes.Equal(got, frame) {
			t.Fatal("the frame's bytes came back changed")
		}
	}
	round() // warm the pool
	hdr := header(make([]byte, headerSize))
	hdr.encode(typeData, 0, l.id, uint32(len(frame)))
	src := bytes.NewReader(frame)
	allocs := testing.AllocsPerRun(200, func() {
		src.Reset(frame)
		if err := l.readData(hdr, 0, src); err != nil {
			t.Fatal(err)
		}
		l.recvLock.Lock()
		for l.bufferedLen() > 0 {
			l.readBuffered(out)
		}
		l.recvWindow += uint32(len(frame))
		l.recvLock.Unlock()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 40 KiB frame received and read, want 0", allocs)
	}
	if n := len(l.patch.chunks.chunks); n != 0 {
		t.Errorf("a drained stream still holds %d chunks", n)
	}
	round()

	// Fill the window without reading: held bytes stay within it.
	for {
		w, _ := l.granted()
		if w == 0 {
			break
		}
		if err := l.feed(frame[:min(w, uint32(len(frame)))]); err != nil {
			t.Fatal(err)
		}
	}
	_, buffered := l.granted()
	held := l.patch.chunks.held()
	if buffered != initialStreamWindow || held > int(initialStreamWindow)+recvChunkSize {
		t.Errorf("full window: %d bytes buffered in %d bytes of chunks; want %d in at most %d",
			buffered, held, initialStreamWindow, int(initialStreamWindow)+recvChunkSize)
	}
	if err := l.feed([]byte{1}); !errors.Is(err, ErrRecvWindowExceeded) {
		t.Errorf("a byte past the window: %v, want ErrRecvWindowExceeded", err)
	}

	// A reset gives every chunk back.
	if err := l.processFlags(flagRST); err != nil {
		t.Fatal(err)
	}
	if n, b := len(l.patch.chunks.chunks), l.patch.chunks.Len(); n != 0 || b != 0 {
		t.Errorf("after a reset the stream holds %d chunks, %d bytes", n, b)
	}
}

// Upstream's behaviour for contrast: its buffer keeps the frame's
// allocation and grows by doubling, so it holds memory after a drain.
func TestPatchPooledRecvOffIsUpstream(t *testing.T) {
	l := newLoneStream(t, patchConf(false, false, false))
	frame := randomBytes(rand.New(rand.NewSource(2)), 40<<10)
	if err := l.feed(frame); err != nil {
		t.Fatal(err)
	}
	if l.recvBuf == nil || l.recvBuf.Len() != len(frame) || len(l.patch.chunks.chunks) != 0 {
		t.Fatal("with the patch off the data must be in upstream's bytes.Buffer, not in chunks")
	}
}

// FuzzPatchChunkBuf holds chunkBuf to bytes.Buffer for any sequence of
// frame sizes and read sizes.
func FuzzPatchChunkBuf(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 200, 7, 255, 0, 9})
	f.Add(bytes.Repeat([]byte{255}, 64))
	f.Fuzz(func(t *testing.T, ops []byte) {
		var c chunkBuf
		var ref bytes.Buffer
		src := rand.New(rand.NewSource(int64(len(ops))))
		out := make([]byte, 3*recvChunkSize)
		for i := 0; i+1 < len(ops); i += 2 {
			size := int(ops[i+1]) * 397 // 0 … ~100 KiB
			if ops[i]&1 == 0 {
				p := randomBytes(src, size)
				if n, err := c.readFrom(bytes.NewReader(p), size); n != size || err != nil {
					t.Fatalf("readFrom %d: %d, %v", size, n, err)
				}
				ref.Write(p)
			} else {
				size = int(min(uint32(size), uint32(len(out))))
				n := c.Read(out[:size])
				want := ref.Next(int(size))
				if !bytes.Equal(out[:n], want) {
					t.Fatalf("read %d bytes that differ from bytes.Buffer's %d", n, len(want))
				}
			}
			if c.Len() != ref.Len() {
				t.Fatalf("Len %d, bytes.Buffer %d", c.Len(), ref.Len())
			}
			if c.held() > c.Len()+2*recvChunkSize {
				t.Fatalf("%d bytes of chunks for %d bytes", c.held(), c.Len())
			}
			if c.Len() == 0 && len(c.chunks) != 0 {
				t.Fatalf("empty, but holds %d chunks", len(c.chunks))
			}
		}
		// A short source: readFrom reports what it got.
		n, err := c.readFrom(bytes.NewReader([]byte{1, 2, 3}), 10)
		if n != 3 || err == nil {
			t.Fatalf("readFrom a 3-byte source for 10: %d, %v", n, err)
		}
		c.release()
		if c.Len() != 0 || len(c.chunks) != 0 {
			t.Fatal("release left bytes or chunks")
		}
	})
}

// BenchmarkPatchRecvResponse receives a 1 MiB response on a new stream in
// 16 KiB frames that all arrive before the reader gets to them (a reader
// that lags), then reads it: the allocations and bytes per response with
// upstream's buffer and with the pooled chunks.
func BenchmarkPatchRecvResponse(b *testing.B) {
	frame := randomBytes(rand.New(rand.NewSource(4)), 16<<10)
	out := make([]byte, 32<<10)
	hdr := header(make([]byte, headerSize))
	hdr.encode(typeData, 0, 1, uint32(len(frame)))
	src := bytes.NewReader(frame)
	for _, pooled := range []bool{false, true} {
		name := map[bool]string{false: "upstream", true: "pooled"}[pooled]
		b.Run(name, func(b *testing.B) {
			l := newLoneStream(b, patchConf(pooled, false, false))
			b.ReportAllocs()
			b.SetBytes(1 << 20)
			for i := 0; i < b.N; i++ {
				st := newStream(l.session, 1, streamEstablished)
				st.recvWindow = 4 << 20
				for k := 0; k < 64; k++ {
					src.Reset(frame)
					if err := st.readData(hdr, 0, src); err != nil {
						b.Fatal(err)
					}
				}
				st.recvLock.Lock()
				for st.bufferedLen() > 0 {
					st.readBuffered(out)
				}
				st.recvLock.Unlock()
			}
		})
	}
}
