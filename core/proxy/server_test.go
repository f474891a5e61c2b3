package proxy

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServerLogsConnectionsWithoutRequest checks that a connection closed
// before any request was served (here: oversized headers, answered 431)
// gets a log line, and a served one does not.
func TestServerLogsConnectionsWithoutRequest(t *testing.T) {
	var logs syncBuffer
	srv := Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), slog.New(slog.NewTextHandler(&logs, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Each connection's close is the event to wait for: the server logs
	// (or not) in its ConnState hook, before this one hears of it.
	closed := make(chan struct{}, 4)
	logConnState := srv.ConnState
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		logConnState(c, st)
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	send := func(req string) string {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	waitClosed := func() {
		t.Helper()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not close the connection")
		}
	}

	if got := send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.Contains(got, "200") {
		t.Fatalf("normal request: %q", got)
	}
	waitClosed()
	if strings.Contains(logs.String(), "before any request was served") {
		t.Fatalf("a served connection was logged as unserved:\n%s", logs.String())
	}
	big := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
	if got := send(big); !strings.Contains(got, "431") {
		t.Fatalf("oversized headers: %q, want 431", got)
	}
	waitClosed()
	if !strings.Contains(logs.String(), "before any request was served") {
		t.Fatalf("no log line for a connection closed without a request; log:\n%s", logs.String())
	}
}
