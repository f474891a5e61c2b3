package tunnel

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/hashicorp/yamux"
)

// The two benchmarks below compare what a small request costs the tunnel
// with one yamux stream per request (what Gatehouse does for requests with
// a body) and with one stream reused for every request (what it does for
// bodyless GET, HEAD and OPTIONS: core/registry/idle.go), over TLS
// with batching on both ends, 64 requests in flight. They measure the
// stream life cycle (SYN, ACK, two FINs, stream set-up) that reuse would
// save; run with: go test -run x -bench StreamPer -benchtime 20000x ./tunnel/
const (
	benchInFlight = 64
	benchReq      = 200
	benchResp     = 300
)

func BenchmarkStreamPerRequest(b *testing.B) {
	client, server := benchMux(b)
	go func() {
		for {
			s, err := server.AcceptStream()
			if err != nil {
				return
			}
			go func() {
				defer s.Close()
				buf := make([]byte, benchReq)
				if _, err := io.ReadFull(s, buf); err != nil {
					return
				}
				_, _ = s.Write(make([]byte, benchResp))
				_, _ = io.Copy(io.Discard, s) // the opener closes first
			}()
		}
	}()
	runInFlight(b, func() error {
		s, err := client.OpenStream()
		if err != nil {
			return err
		}
		defer s.Close()
		if _, err := s.Write(make([]byte, benchReq)); err != nil {
			return err
		}
		_, err = io.ReadFull(s, make([]byte, benchResp))
		return err
	})
}

func BenchmarkStreamReused(b *testing.B) {
	client, server := benchMux(b)
	go func() {
		for {
			s, err := server.AcceptStream()
			if err != nil {
				return
			}
			go func() {
				defer s.Close()
				buf := make([]byte, benchReq)
				resp := make([]byte, benchResp)
				for {
					if _, err := io.ReadFull(s, buf); err != nil {
						return
					}
					if _, err := s.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	streams := make(chan net.Conn, benchInFlight)
	for range benchInFlight {
		s, err := client.OpenStream()
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		streams <- s
	}
	runInFlight(b, func() error {
		s := <-streams
		defer func() { streams <- s }()
		if _, err := s.Write(make([]byte, benchReq)); err != nil {
			return err
		}
		_, err := io.ReadFull(s, make([]byte, benchResp))
		return err
	})
}

func benchMux(b *testing.B) (client, server *yamux.Session) {
	c, s := tlsPair(b)
	return muxPair(b, c, s, true)
}

// runInFlight runs b.N calls of do, benchInFlight at a time.
func runInFlight(b *testing.B, do func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range benchInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := do(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
}
