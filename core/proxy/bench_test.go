package proxy

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/tunnel"
)

// cannedDialer hands out one stream, parked after each response like the
// registry's, whose other end answers every request with one response.
type cannedDialer struct {
	stream *pipeStream
}

type pipeStream struct{ net.Conn }

func (pipeStream) Park()        {}
func (pipeStream) Reused() bool { return true }
func (pipeStream) Close() error { return nil }

func newCannedDialer(response string) *cannedDialer {
	gw, c := net.Pipe()
	go func() {
		br := bufio.NewReader(c)
		for {
			if _, err := tunnel.ReadRequestHeader(br); err != nil {
				return
			}
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, response)
		}
	}()
	return &cannedDialer{stream: &pipeStream{gw}}
}

func (d *cannedDialer) DialGroup(ctx context.Context, group string, avoid []string, reuse bool) (net.Conn, string, func(), error) {
	return d.stream, "c", func() {}, nil
}

func BenchmarkHandlerSmall(b *testing.B) {
	for _, noLean := range []bool{true, false} {
		name := "lean"
		if noLean {
			name = "ReverseProxy"
		}
		b.Run(name, func(b *testing.B) {
			d := newCannedDialer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100))
			table := NewTable(5, testRoutes)
			h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
			h.noLean = noLean
			req := httptest.NewRequest("GET", "https://demo.example.com/app/bytes/100", nil)
			req.RemoteAddr = "127.0.0.1:5555"
			req.Header.Set("User-Agent", "wrk")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r := req.Clone(context.Background())
				h.ServeHTTP(w, r)
				if w.Code != 200 || w.Body.Len() != 100 {
					b.Fatalf("%d %q", w.Code, w.Body)
				}
			}
		})
	}
}
