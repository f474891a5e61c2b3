package connector

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/tunnel"
)

// cannedBackend answers every request head on every connection with one
// fixed response, allocating nothing per request.
func cannedBackend(tb testing.TB, response string) string {
	return tcpBackend(tb, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			// a head ends with an empty line
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					break
				}
			}
			if _, err := io.WriteString(c, response); err != nil {
				return
			}
		}
	})
}

// BenchmarkServeStream relays small GETs on one reused stream, as the
// gateway sends them, to a backend on loopback.
func BenchmarkServeStream(b *testing.B) {
	url := cannedBackend(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"+string(bytes.Repeat([]byte("x"), 100)))
	c := &Connector{log: slog.New(slog.DiscardHandler)}
	s := &session{c: c, log: c.log}
	a, err := newApp(tunnel.AppConfig{Name: "demo", URL: url}, fastpath.All)
	if err != nil {
		b.Fatal(err)
	}
	s.apps.Store(&appTable{version: 1, apps: map[string]*app{"demo": a}, changed: make(chan struct{})})
	gw, conn := net.Pipe()
	go s.serveStream(context.Background(), conn)
	defer gw.Close()
	var head []byte
	head = tunnel.AppendRequestHeader(head, tunnel.RequestHeader{App: "demo", RequestID: "0123456789abcdef", ConfigVersion: 1})
	head = append(head, "GET /bytes/100 HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent: wrk\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: demo.localhost\r\nX-Forwarded-Proto: https\r\nX-Request-Id: 0123456789abcdef\r\n\r\n"...)
	br := bufio.NewReader(gw)
	req, _ := http.NewRequest("GET", "http://demo.localhost/bytes/100", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gw.Write(head); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
	}
}
