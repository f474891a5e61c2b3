package update

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/tunnel"
	"github.com/hashicorp/yamux"
)

// StreamFetch speaks the release stream over a real yamux session: one
// ReleaseRequest frame, one ReleaseResponse frame, then Size bytes.
func TestStreamFetchOverYamux(t *testing.T) {
	a, b := net.Pipe()
	client, err := yamux.Client(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	server, err := yamux.Server(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	defer server.Close()
	binary := bytes.Repeat([]byte("connector"), 1000)
	got := make(chan tunnel.ReleaseRequest, 2)
	go func() {
		for {
			st, err := server.AcceptStream()
			if err != nil {
				return
			}
			var req tunnel.ReleaseRequest
			if err := tunnel.ReadFrame(st, &req); err != nil {
				st.Close()
				continue
			}
			got <- req
			if req.Version != "v2.0.0" {
				_ = tunnel.WriteFrame(st, tunnel.ReleaseResponse{Error: "no such release"})
			} else {
				_ = tunnel.WriteFrame(st, tunnel.ReleaseResponse{Size: int64(len(binary))})
				_, _ = st.Write(binary)
			}
			st.Close()
		}
	}()
	fetch := StreamFetch(func() (net.Conn, error) { return client.Open() })
	rc, size, err := fetch(context.Background(), "v2.0.0", "linux", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || size != int64(len(binary)) || !bytes.Equal(body, binary) {
		t.Fatalf("fetched %d bytes (size %d), %v; want the %d bytes", len(body), size, err, len(binary))
	}
	if req := <-got; req != (tunnel.ReleaseRequest{Type: tunnel.ReleaseStreamType, Version: "v2.0.0", OS: "linux", Arch: "amd64"}) {
		t.Fatalf("the gateway read %+v", req)
	}
	if _, _, err := fetch(context.Background(), "v9.0.0", "linux", "amd64"); err == nil || !strings.Contains(err.Error(), "no such release") {
		t.Fatalf("a missing release: %v", err)
	}
}
