package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

// pipeConnector reads each request as a connector would and reports what
// reading its body gave (nil: it arrived whole), then answers 200, or
// with hold waits for the gateway to end the stream.
type pipeConnector struct {
	body  chan error    // what reading the body gave
	ended chan struct{} // the gateway ended a held stream
	hold  bool
}

func (p *pipeConnector) DialGroup(ctx context.Context, group string, avoid []string, reuse bool) (net.Conn, string, func(), error) {
	gw, c := net.Pipe()
	go func() {
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := tunnel.ReadRequestHeader(br); err != nil {
			p.body <- err
			return
		}
		req, err := http.ReadRequest(br)
		if err == nil {
			_, err = io.ReadAll(req.Body)
		}
		p.body <- err
		if p.hold {
			_, _ = io.Copy(io.Discard, br)
			close(p.ended)
			return
		}
		if err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	}()
	return gw, "a", func() {}, nil
}

// failingBody gives ten bytes, then the error net/http gives for a
// client's broken body.
type failingBody struct{ sent bool }

func (b *failingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "0123456789"), nil
	}
	return 0, errors.New("malformed chunked encoding")
}

func (b *failingBody) Close() error { return nil }

// A body the client sends badly is a 400, and the connector never gets a
// whole request: neither chunked (no last chunk) nor of known length.
func TestClientBodyErrorIs400(t *testing.T) {
	for _, lean := range []bool{true, false} {
		for _, length := range []int64{100, -1} {
			p := &pipeConnector{body: make(chan error, 1)}
			table := NewTable(5, testRoutes)
			h := NewHandler(func() *Table { return table }, p, slog.New(slog.DiscardHandler))
			h.noLean = !lean
			req := httptest.NewRequest("POST", "https://demo.example.com/app/upload", nil)
			req.Body, req.ContentLength = &failingBody{}, length
			if length < 0 {
				req.TransferEncoding = []string{"chunked"}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Bad request body") {
				t.Errorf("lean %v, length %d: %d %q, want 400", lean, length, w.Code, w.Body)
			}
			select {
			case err := <-p.body:
				if err == nil {
					t.Errorf("lean %v, length %d: the connector read a whole request", lean, length)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("lean %v, length %d: the connector still reads the body", lean, length)
			}
		}
	}
}

// A request whose client has gone ends its stream at once, whether it
// went before the request was sent (nothing is dialed) or while the
// backend was answering.
func TestGoneClientEndsItsStream(t *testing.T) {
	p := &pipeConnector{body: make(chan error, 1), ended: make(chan struct{}), hold: true}
	table := NewTable(5, testRoutes)
	h := NewHandler(func() *Table { return table }, p, slog.New(slog.DiscardHandler))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://demo.example.com/app/x", nil).WithContext(ctx))
	}()
	select {
	case <-gone:
	case err := <-p.body:
		t.Fatalf("a request of a gone client was sent (%v)", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://demo.example.com/app/x", nil).WithContext(ctx))
	}()
	if err := <-p.body; err != nil {
		t.Fatal(err)
	}
	cancel() // the client resets its stream while the backend works
	for what, ch := range map[string]chan struct{}{"the stream ended": p.ended, "the handler returned": done} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("client gone for 10 s, and still not: %s", what)
		}
	}
}
