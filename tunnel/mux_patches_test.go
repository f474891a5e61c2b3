package tunnel

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/hashicorp/yamux"
)

// The yamux fast path turns Gatehouse's yamux patches on; with it off
// (GATEHOUSE_FAST_PATHS=off or -yamux) MuxConfigFor gives upstream
// yamux's behaviour: every patch field false, the rest unchanged.
func TestMuxConfigFollowsTheYamuxFastPath(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	patches := func(c *yamux.Config) [3]bool {
		return [3]bool{c.PooledRecvBuffers, c.AdaptiveWindow, c.WriteFrameOnce}
	}
	for _, tc := range []struct {
		name string
		fp   fastpath.Set
		on   bool
	}{
		{"all", fastpath.All, true},
		{"none", fastpath.None, false},
		{"-yamux", fastpath.All.Without(fastpath.Yamux), false},
		{"-heldconn", fastpath.All.Without(fastpath.HeldConn), true},
	} {
		c := MuxConfigFor(log, tc.fp)
		if want := [3]bool{tc.on, tc.on, tc.on}; patches(c) != want {
			t.Errorf("%s: patches (pooled, adaptive, once) = %v, want %v", tc.name, patches(c), want)
		}
		if c.MaxStreamWindowSize != StreamWindow || c.AcceptBacklog != 1024 {
			t.Errorf("%s: window %d, backlog %d", tc.name, c.MaxStreamWindowSize, c.AcceptBacklog)
		}
		if err := yamux.VerifyConfig(c); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if got := patches(MuxConfig(log)); got != [3]bool{true, true, true} {
		t.Errorf("MuxConfig (every fast path on) gives patches %v", got)
	}
}

// BatchConn still finds frame boundaries when yamux writes each frame as
// one Write (WriteFrameOnce): streams both ways, patched at one end and
// upstream at the other, carry their bytes intact.
func TestBatchConnCarriesWholeFrameWrites(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	a, b := net.Pipe()
	client, err := yamux.Client(NewBatchConn(a), MuxConfigFor(log, fastpath.All))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := yamux.Server(NewBatchConn(b), MuxConfigFor(log, fastpath.None))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	payload := make([]byte, 3<<20+777)
	_, _ = rand.Read(payload)

	const streams = 4
	errc := make(chan error, 2*streams)
	go func() { // the server echoes every stream
		for range streams {
			s, err := server.AcceptStream()
			if err != nil {
				errc <- err
				return
			}
			go func() {
				defer s.Close()
				_, err := io.Copy(s, s)
				errc <- err
			}()
		}
	}()
	for range streams {
		go func() {
			s, err := client.OpenStream()
			if err != nil {
				errc <- err
				return
			}
			defer s.Close()
			go func() {
				for rest := payload; len(rest) > 0; {
					n := min(len(rest), 1+len(rest)%100_000)
					if _, err := s.Write(rest[:n]); err != nil {
						return
					}
					rest = rest[n:]
				}
				_ = s.Close() // a half-close in yamux: the echo still comes back
			}()
			got, err := io.ReadAll(s)
			if err == nil && !bytes.Equal(got, payload) {
				err = io.ErrUnexpectedEOF
			}
			errc <- err
		}()
	}
	for range 2 * streams {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
