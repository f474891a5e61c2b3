package yamux

// Patch 1 of Gatehouse's patch set (PATCHES.md): pooled, bounded receive
// buffers, on with Config.PooledRecvBuffers.
//
// Upstream keeps a stream's received data in a bytes.Buffer allocated at
// the first frame's size and grown by doubling: every growth is a fresh,
// zeroed allocation, and the buffer stays at its largest size for the
// stream's life. With the patch a stream keeps received data in
// fixed-size chunks taken from a package-level sync.Pool: a data frame is
// read from the connection straight into the tail of the last chunk and
// into new chunks, Read copies out and gives every emptied chunk back,
// so a stream with nothing buffered holds no chunk at all.

import (
	"io"
	"sync"
)

// recvChunkSize is the size of one receive chunk.
const recvChunkSize = 32 << 10

type recvChunk = [recvChunkSize]byte

// recvChunkPool holds the chunks no stream is using.
var recvChunkPool = sync.Pool{New: func() any { return new(recvChunk) }}

// chunkBuf is a FIFO of received bytes in pooled chunks: bytes
// chunks[0][head:] … chunks[last][:tail] are buffered. Its zero value is
// empty; its owner serialises access (the stream's recvLock).
type chunkBuf struct {
	chunks []*recvChunk
	head   int // read offset in chunks[0]
	tail   int // write offset in chunks[len-1]
	n      int // bytes buffered
}

// Len is the number of bytes buffered.
func (c *chunkBuf) Len() int { return c.n }

// held is the number of bytes of chunk memory the buffer holds.
func (c *chunkBuf) held() int { return len(c.chunks) * recvChunkSize }

// readFrom reads exactly n bytes from r into the buffer, filling the last
// chunk's tail first. It returns how many bytes it read; fewer than n only
// with r's error.
func (c *chunkBuf) readFrom(r io.Reader, n int) (int, error) {
	read := 0
	for read < n {
		if len(c.chunks) == 0 || c.tail == recvChunkSize {
			c.chunks = append(c.chunks, recvChunkPool.Get().(*recvChunk))
			c.tail = 0
		}
		last := c.chunks[len(c.chunks)-1]
		want := min(uint32(n-read), uint32(recvChunkSize-c.tail))
		got, err := io.ReadFull(r, last[c.tail:c.tail+int(want)])
		c.tail += got
		c.n += got
		read += got
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			c.trimEmpty()
			return read, err
		}
	}
	return read, nil
}

// Read copies buffered bytes into p and gives emptied chunks back to the
// pool.
func (c *chunkBuf) Read(p []byte) int {
	done := 0
	for done < len(p) && c.n > 0 {
		first := c.chunks[0]
		end := recvChunkSize
		if len(c.chunks) == 1 {
			end = c.tail
		}
		k := copy(p[done:], first[c.head:end])
		done += k
		c.head += k
		c.n -= k
		if c.head == end {
			c.popFirst()
		}
	}
	return done
}

// popFirst gives the first chunk back to the pool.
func (c *chunkBuf) popFirst() {
	recvChunkPool.Put(c.chunks[0])
	copy(c.chunks, c.chunks[1:])
	c.chunks[len(c.chunks)-1] = nil
	c.chunks = c.chunks[:len(c.chunks)-1]
	c.head = 0
	if len(c.chunks) == 0 {
		c.tail = 0
	}
}

// trimEmpty gives back a buffer's only chunk when it holds no bytes.
func (c *chunkBuf) trimEmpty() {
	if c.n == 0 && len(c.chunks) > 0 {
		c.release()
	}
}

// release gives every chunk back to the pool, dropping what they hold.
func (c *chunkBuf) release() {
	for i, ch := range c.chunks {
		recvChunkPool.Put(ch)
		c.chunks[i] = nil
	}
	c.chunks = c.chunks[:0]
	c.head, c.tail, c.n = 0, 0, 0
}

// bufferedLen is the number of received bytes the stream holds for Read,
// in whichever buffer the configuration uses. recvLock must be held.
func (s *Stream) bufferedLen() uint32 {
	if s.recvBuf != nil {
		return uint32(s.recvBuf.Len())
	}
	return uint32(s.patch.chunks.Len())
}

// readBuffered copies buffered bytes into b. recvLock must be held.
func (s *Stream) readBuffered(b []byte) int {
	if s.recvBuf != nil {
		n, _ := s.recvBuf.Read(b)
		return n
	}
	return s.patch.chunks.Read(b)
}

// readDataPooled is readData's copy for PooledRecvBuffers: length bytes
// of one data frame from conn into the stream's chunks.
func (s *Stream) readDataPooled(conn io.Reader, length uint32) error {
	s.recvLock.Lock()
	if length > s.recvWindow {
		s.session.logger.Printf("[ERR] yamux: receive window exceeded (stream: %d, remain: %d, recv: %d)", s.id, s.recvWindow, length)
		s.recvLock.Unlock()
		return ErrRecvWindowExceeded
	}
	copied, err := s.patch.chunks.readFrom(conn, int(length))
	if err != nil {
		s.session.logger.Printf("[ERR] yamux: Failed to read stream data: %v", err)
		s.recvLock.Unlock()
		return err
	}
	s.recvWindow -= uint32(copied)
	s.recvLock.Unlock()
	asyncNotify(s.recvNotifyCh)
	return nil
}

// releaseRecv gives the stream's chunks back to the pool once nothing can
// read them any more (reset, forced close).
func (s *Stream) releaseRecv() {
	if !s.session.config.PooledRecvBuffers {
		return
	}
	s.recvLock.Lock()
	s.patch.chunks.release()
	s.recvLock.Unlock()
}
