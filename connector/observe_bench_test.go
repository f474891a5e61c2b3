package connector

import (
	"bufio"
	"bytes"
	"context"
	"github.com/gatehouse/gatehouse/internal/cputime"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/accesslog"
	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/internal/linebuf"
	"github.com/gatehouse/gatehouse/tunnel"
)

// What "on" costs per request at the connector, as the connector runs
// it: its metrics are always counted; "on" adds the access line, JSON
// through accesslog.Handler onto a linebuf.Writer over a file
// (/dev/null), which "off" (the app's access_log: false) does not write.

// observedConnector is a Connector with its metrics and the access log
// of cmd/gatehouse-connector, and the demo app at url (access_log: false
// unless on); stop stops the log's writer.
func observedConnector(tb testing.TB, url string, on bool) (s *session, a *app, stop func()) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	lb := linebuf.New(f, 100*time.Millisecond)
	access := slog.New(accesslog.NewHandler(lb, "json", nil))
	opts := Options{Logger: slog.New(slog.DiscardHandler), AccessLog: access}
	c := &Connector{log: opts.Logger, metrics: newMetrics(),
		access: accessLogger(opts, &State{ConnectorID: "c-0123456789", Group: "default"})}
	a, err = newApp(tunnel.AppConfig{Name: "demo", URL: url, NoAccessLog: !on}, fastpath.All)
	if err != nil {
		tb.Fatal(err)
	}
	return &session{c: c, log: c.log}, a, func() { lb.Close(); f.Close() }
}

// BenchmarkFinish is the per-request observation alone: the backend
// metrics and the access line (finish), as serveOne does them.
func BenchmarkFinish(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(onOff(on), func(b *testing.B) {
			s, a, stop := observedConnector(b, "http://127.0.0.1:1", on)
			defer stop()
			hdr := tunnel.RequestHeader{App: "demo", RequestID: "0123456789abcdef0123456789abcdef", ConfigVersion: 1}
			req, _ := http.NewRequest("GET", "http://demo.localhost/bytes/100", nil)
			b.ReportAllocs()
			cpu := cputime.Self()
			for b.Loop() {
				sv := served{start: time.Now()}
				s.c.metrics.backend(hdr.App, time.Since(sv.start), 200, nil)
				sv.status, sv.out = 200, 100
				s.finish(a, &hdr, req, &sv)
			}
			cputime.Report(b, cpu)
		})
	}
}

// BenchmarkServeStreamObserve is BenchmarkServeStream with the
// connector's metrics and its access log off and on.
func BenchmarkServeStreamObserve(b *testing.B) {
	url := cannedBackend(b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"+string(bytes.Repeat([]byte("x"), 100)))
	for _, on := range []bool{false, true} {
		b.Run(onOff(on), func(b *testing.B) {
			s, a, stop := observedConnector(b, url, on)
			defer stop()
			s.apps.Store(&appTable{version: 1, apps: map[string]*app{"demo": a}, changed: make(chan struct{})})
			gw, conn := net.Pipe()
			go s.serveStream(context.Background(), conn)
			defer gw.Close()
			head := tunnel.AppendRequestHeader(nil, tunnel.RequestHeader{App: "demo", RequestID: "0123456789abcdef", ConfigVersion: 1})
			head = append(head, "GET /bytes/100 HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent: wrk\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: demo.localhost\r\nX-Forwarded-Proto: https\r\nX-Request-Id: 0123456789abcdef\r\n\r\n"...)
			br := bufio.NewReader(gw)
			req, _ := http.NewRequest("GET", "http://demo.localhost/bytes/100", nil)
			b.ReportAllocs()
			cpu := cputime.Self()
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
			cputime.Report(b, cpu)
		})
	}
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
