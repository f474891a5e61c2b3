package h2

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"

	"github.com/gatehouse/gatehouse/internal/fastpath/heldconn"
)

// TestHTTP2FrameIsOneWrite downloads 1 MiB over HTTP/2 from a server set
// up by Configure, behind heldconn as the gateway's public listener is,
// with 16 KiB frames and counts the writes that reach the socket:
// about one per DATA frame, where crypto/tls alone makes at least two
// (a full record and the frame header's 9 bytes left over).
func TestHTTP2FrameIsOneWrite(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	var writes atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("an HTTP/2 request lost its TLS state")
		}
		w.Write(body)
	}))
	if err := Configure(ts.Config); err != nil {
		t.Fatal(err)
	}
	ts.Listener = heldconn.Listener(countingListener{ts.Listener, &writes})
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()

	tr := &http2.Transport{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig, MaxReadFrameSize: 16 << 10}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes (err %v), want the %d sent", len(got), err, len(body))
	}
	frames := int64(len(body) / (16 << 10))
	if n := writes.Load(); n > frames+frames/4 {
		t.Fatalf("%d writes reached the socket for %d DATA frames (and the handshake), want about one per frame", n, frames)
	}
}

type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countedConn{c, l.writes}, nil
}

type countedConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
