package yamux

// Tests of patch 3, WriteFrameOnce (PATCHES.md).

import (
	"bytes"
	"io"
	"math/rand"
	"net"
	"sync"
	"testing"
)

// writeLog records every Write on a connection.
type writeLog struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, append([]byte(nil), p...))
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// With WriteFrameOnce each data frame is exactly one Write: its header
// and its whole body; without, header and body are two.
func TestPatchWriteFrameOnce(t *testing.T) {
	for _, once := range []bool{true, false} {
		a, b := net.Pipe()
		wl := &writeLog{Conn: a}
		client, server := testClientServerConfig(t, wl, b, patchConf(false, false, once), patchConf(false, false, false))
		rng := rand.New(rand.NewSource(5))
		var sent [][]byte
		for i := 0; i < 50; i++ {
			// at most 250 KB in all: within the initial window, so no
			// write is split into two frames
			sent = append(sent, randomBytes(rng, 1+rng.Intn(5000)))
		}
		got := make(chan []byte, 1)
		go func() {
			s, err := server.AcceptStream()
			if err != nil {
				got <- nil
				return
			}
			all, _ := io.ReadAll(s)
			got <- all
		}()
		s, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sent {
			if _, err := s.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if all := <-got; !bytes.Equal(all, bytes.Join(sent, nil)) {
			t.Fatalf("WriteFrameOnce=%v: the peer read %d bytes that differ from those sent", once, len(all))
		}

		wl.mu.Lock()
		writes := wl.writes
		wl.mu.Unlock()
		frames := 0
		for i := 0; i < len(writes); i++ {
			w := writes[i]
			if len(w) < headerSize || header(w).MsgType() != typeData {
				continue
			}
			frames++
			body := int(header(w[:headerSize]).Length())
			switch {
			case once && len(w) != headerSize+body:
				t.Fatalf("a data frame of %d bytes written as a write of %d bytes, want header and body in one", body, len(w))
			case !once && (len(w) != headerSize || i+1 == len(writes) || len(writes[i+1]) != body):
				t.Fatalf("upstream writes a data frame's header alone, then its body")
			case !once:
				i++ // the body
			}
			if !bytes.Equal(w[headerSize:], sent[frames-1]) && once {
				t.Fatalf("frame %d's body is not the bytes written", frames)
			}
		}
		if frames != len(sent) {
			t.Fatalf("WriteFrameOnce=%v: %d data frames written for %d stream writes", once, frames, len(sent))
		}
	}
}
