package yamux

// Helpers for the tests of Gatehouse's patches (PATCHES.md).

import (
	"bytes"
	"io"
	"log"
	"math/rand"
	"net"
	"sync"
	"testing"
	"time"
)

// patchConf is testConfNoKeepAlive with the given patches on and the
// window the tunnel uses.
func patchConf(pooled, adaptive, once bool) *Config {
	c := testConfNoKeepAlive()
	c.ConnectionWriteTimeout = 10 * time.Second // the race detector on a small box
	c.MaxStreamWindowSize = 4 << 20
	c.PooledRecvBuffers = pooled
	c.AdaptiveWindow = adaptive
	c.WriteFrameOnce = once
	c.LogOutput = io.Discard
	return c
}

// loneStream is a stream of a session that runs no goroutines: the test
// feeds it frames with readData and reads it with Read. Its control frames
// (window updates) are answered at once and their lengths recorded.
type loneStream struct {
	*Stream
	mu      sync.Mutex
	updates []uint32 // the window update deltas sent, in order
	stop    chan struct{}
}

func newLoneStream(t testing.TB, conf *Config) *loneStream {
	t.Helper()
	sess := &Session{
		config:     conf,
		logger:     log.New(io.Discard, "", 0),
		streams:    map[uint32]*Stream{},
		inflight:   map[uint32]struct{}{},
		synCh:      make(chan struct{}, 1),
		sendCh:     make(chan *sendReady, 64),
		shutdownCh: make(chan struct{}),
	}
	l := &loneStream{Stream: newStream(sess, 1, streamEstablished), stop: make(chan struct{})}
	sess.streams[1] = l.Stream
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case r := <-sess.sendCh:
				h := header(r.Hdr)
				if h.MsgType() == typeWindowUpdate {
					l.mu.Lock()
					l.updates = append(l.updates, h.Length())
					l.mu.Unlock()
				}
				asyncSendErr(r.Err, nil)
			case <-l.stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(l.stop); <-done })
	return l
}

// feed hands the stream one data frame holding p.
func (l *loneStream) feed(p []byte) error {
	hdr := header(make([]byte, headerSize))
	hdr.encode(typeData, 0, l.id, uint32(len(p)))
	return l.readData(hdr, 0, bytes.NewReader(p))
}

// granted is the window the stream has granted and not yet been sent
// data for, plus what it buffers: never more than its window.
func (l *loneStream) granted() (window, buffered uint32) {
	l.recvLock.Lock()
	defer l.recvLock.Unlock()
	return l.recvWindow, l.bufferedLen()
}

func (l *loneStream) sentUpdates() []uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uint32(nil), l.updates...)
}

// randomBytes returns n pseudo-random bytes.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	return b
}

// transfer sends data from a client stream to a server stream with the
// given configurations, as writes of random sizes (one frame each while
// the window allows) read back with reads of random sizes, and returns
// what the server read.
func transfer(t *testing.T, clientConf, serverConf *Config, data []byte, seed int64) []byte {
	t.Helper()
	a, b := net.Pipe()
	client, server := testClientServerConfig(t, a, b, clientConf, serverConf)
	errc := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewSource(seed))
		s, err := client.OpenStream()
		if err != nil {
			errc <- err
			return
		}
		for rest := data; len(rest) > 0; {
			n := min(uint32(1+rng.Intn(100<<10)), uint32(len(rest)))
			if _, err := s.Write(rest[:n]); err != nil {
				errc <- err
				return
			}
			rest = rest[n:]
		}
		errc <- s.Close()
	}()
	s, err := server.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed + 1))
	var got bytes.Buffer
	buf := make([]byte, 200<<10)
	for {
		n, err := s.Read(buf[:1+rng.Intn(len(buf))])
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read after %d bytes: %v", got.Len(), err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("writer: %v", err)
	}
	return got.Bytes()
}
