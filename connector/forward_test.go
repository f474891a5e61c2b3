package connector

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/tunnel"
)

// fetch makes a real request to a real backend with the connector's own
// backend transport and returns the response, as serveStream has it.
func fetch(t *testing.T, method, url string) *http.Response {
	t.Helper()
	a, err := newApp(tunnel.AppConfig{Name: "t", URL: url}, fastpath.All)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, url, nil)
	resp, err := a.rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// relay runs writeResponse into a buffer, then appends a marker: a
// response framed by EOF instead of Content-Length or chunking would
// swallow it.
func relay(t *testing.T, resp *http.Response) (out []byte, longCalls int) {
	t.Helper()
	var buf bytes.Buffer
	bw := bufio.NewWriterSize(&buf, 64<<10)
	if err := writeResp(bw, resp, func() { longCalls++ }); err != nil {
		t.Fatalf("writeResponse: %v", err)
	}
	return append(buf.Bytes(), "NEXT"...), longCalls
}

const marker = "NEXT"

// readBack parses relayed bytes as the gateway does and returns the
// response, its body and what was left after it.
func readBack(t *testing.T, out []byte, method string) (*http.Response, string, string) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	req, _ := http.NewRequest(method, "http://x/", nil)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("gateway cannot parse the relayed response: %v\n%s", err, out)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading relayed body: %v\n%s", err, out)
	}
	rest, _ := io.ReadAll(br)
	return resp, string(body), string(rest)
}

// tcpBackend listens on a loopback port and runs handle, then closes the
// connection, for each connection; it returns the backend's URL.
func tcpBackend(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// rawBackend serves one canned response per connection and closes it.
func rawBackend(t *testing.T, response string) string {
	return tcpBackend(t, func(c net.Conn) {
		_, _ = http.ReadRequest(bufio.NewReader(c))
		_, _ = io.WriteString(c, response)
	})
}

func TestWriteResponseFraming(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 20000) // 320 KB: several reads
	mux := http.NewServeMux()
	mux.HandleFunc("/fixed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		io.WriteString(w, big)
	})
	mux.HandleFunc("/streamed", func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "part %d;", i)
			w.(http.Flusher).Flush() // no Content-Length: chunked from the backend
		}
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("/notmodified", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(304)
	})
	mux.HandleFunc("/head", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1234")
		if r.Method != "HEAD" {
			io.WriteString(w, strings.Repeat("x", 1234))
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	http10 := rawBackend(t, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection closes")
	http11NoLength := rawBackend(t, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nalso until close")
	headChunked := rawBackend(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")

	tests := []struct {
		name       string
		method     string
		url        string
		wantStatus int
		wantBody   string
		wantCL     string // Content-Length header on the relayed response ("" none)
		wantTE     bool   // chunked
	}{
		{"content-length", "GET", srv.URL + "/fixed", 200, "hello", "5", false},
		{"large content-length", "GET", srv.URL + "/big", 200, big, fmt.Sprint(len(big)), false},
		{"chunked from the backend", "GET", srv.URL + "/streamed", 200, "part 0;part 1;part 2;", "", true},
		{"empty body", "GET", srv.URL + "/empty", 200, "", "0", false},
		{"HTTP/1.0 body until EOF becomes chunked", "GET", http10, 200, "until the connection closes", "", true},
		{"HTTP/1.1 body until EOF becomes chunked", "GET", http11NoLength, 200, "also until close", "", true},
		{"204 has no body", "GET", srv.URL + "/nocontent", 204, "", "", false},
		{"304 has no body", "GET", srv.URL + "/notmodified", 304, "", "", false},
		{"HEAD keeps Content-Length, sends no body", "HEAD", srv.URL + "/head", 200, "", "1234", false},
		{"HEAD of a chunked resource sends no body", "HEAD", headChunked, 200, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := relay(t, fetch(t, tt.method, tt.url))
			if !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) {
				t.Fatalf("relayed response is not HTTP/1.1:\n%s", out)
			}
			resp, body, rest := readBack(t, out, tt.method)
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Fatalf("relayed %d %.80q, want %d %.80q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if rest != marker {
				t.Fatalf("%d bytes after the response, want only the next data %q: %q", len(rest), marker, rest)
			}
			head := string(out[:bytes.Index(out, []byte("\r\n\r\n"))])
			cl := resp.Header.Get("Content-Length")
			if cl == "" && strings.Contains(head, "\r\nContent-Length: ") {
				cl = strings.SplitN(strings.SplitN(head, "\r\nContent-Length: ", 2)[1], "\r\n", 2)[0]
			}
			if cl != tt.wantCL {
				t.Errorf("Content-Length %q, want %q\n%s", cl, tt.wantCL, head)
			}
			if chunked := strings.Contains(head, "\r\nTransfer-Encoding: chunked"); chunked != tt.wantTE {
				t.Errorf("chunked = %v, want %v\n%s", chunked, tt.wantTE, head)
			}
			if tt.wantStatus == 204 && (strings.Contains(head, "Content-Length") || strings.Contains(head, "Transfer-Encoding")) {
				t.Errorf("204 response carries framing headers:\n%s", head)
			}
		})
	}
}

// eventStream is a backend body that hands out chunks as the test sends
// them, like Server-Sent Events.
type eventStream struct{ ch chan string }

func (e *eventStream) Read(p []byte) (int, error) {
	s, ok := <-e.ch
	if !ok {
		return 0, io.EOF
	}
	return copy(p, s), nil
}
func (e *eventStream) Close() error { return nil }

// notifyWriter records what reaches the stream and signals each write.
type notifyWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.ch <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *notifyWriter) has(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Contains(w.buf.String(), s)
}

// Each event reaches the stream while the backend is still producing: the
// body is flushed after the first chunk, not when the response ends.
func TestWriteResponseFlushesEvents(t *testing.T) {
	events := &eventStream{ch: make(chan string)}
	req, _ := http.NewRequest("GET", "http://backend/sse", nil)
	resp := &http.Response{
		StatusCode: 200, ProtoMajor: 1, ProtoMinor: 0, Request: req, ContentLength: -1,
		Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: events,
	}
	nw := &notifyWriter{ch: make(chan struct{}, 1)}
	bw := bufio.NewWriterSize(nw, 64<<10)
	longCalls := 0
	done := make(chan error, 1)
	go func() { done <- writeResp(bw, resp, func() { longCalls++ }) }()
	for i := range 3 {
		ev := fmt.Sprintf("data: tick %d\n\n", i)
		events.ch <- ev
		deadline := time.After(3 * time.Second)
		for !nw.has(ev) {
			select {
			case <-nw.ch:
			case <-deadline:
				t.Fatalf("event %d was not flushed while the stream stayed open (got %q)", i, nw.buf.String())
			}
		}
	}
	close(events.ch)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if longCalls != 1 {
		t.Errorf("long called %d times, want once", longCalls)
	}
	out := append(nw.buf.Bytes(), marker...)
	_, body, rest := readBack(t, out, "GET")
	if body != "data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\n" || rest != marker {
		t.Fatalf("relayed body %q, rest %q", body, rest)
	}
}

// A small response leaves in one write with its head, and needs no
// watcher: long is for bodies that take more than one read.
func TestWriteResponseSmallIsOneWrite(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	resp := fetch(t, "GET", srv.URL)
	nw := &notifyWriter{ch: make(chan struct{}, 100)}
	bw := bufio.NewWriterSize(nw, 64<<10)
	longCalls := 0
	if err := writeResp(bw, resp, func() { longCalls++ }); err != nil {
		t.Fatal(err)
	}
	if n := len(nw.ch); n != 1 {
		t.Errorf("a 100-byte response took %d writes to the stream, want 1", n)
	}
	if longCalls != 0 {
		t.Errorf("long called %d times for a 100-byte Content-Length response that one read delivers", longCalls)
	}
}

// A stream that fails mid-body reports the error.
func TestWriteResponseWriteError(t *testing.T) {
	boom := errors.New("stream reset")
	req, _ := http.NewRequest("GET", "http://backend/", nil)
	resp := &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: req, ContentLength: -1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(strings.Repeat("y", 200<<10)))}
	bw := bufio.NewWriterSize(failWriter{boom}, 4<<10)
	if err := writeResp(bw, resp, nil); !errors.Is(err, boom) {
		t.Fatalf("writeResponse = %v, want the stream's error", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestJoinPath(t *testing.T) {
	tests := []struct{ base, path, want string }{
		{"", "/x", "/x"},
		{"/", "/x", "/x"},
		{"", "/", "/"},
		{"/base", "/x", "/base/x"},
		{"/base/", "/x", "/base/x"},
		{"/base", "/", "/base/"},
		{"/base", "", "/base/"},
		{"/a/b", "/c/d/", "/a/b/c/d/"},
		{"/base", "x", "/base/x"},
	}
	for _, tt := range tests {
		if got := joinPath(tt.base, tt.path); got != tt.want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
		}
	}
}

func pinOf(c []byte) string {
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:])
}

func TestBackendTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret app") }))
	defer srv.Close()
	srvPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	otherCA := newTestCA(t, "other")
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherCA.cert.Raw})
	right := pinOf(srv.Certificate().Raw)
	wrong := pinOf(otherCA.cert.Raw)

	tests := []struct {
		name      string
		cfg       tunnel.AppConfig
		configErr string // from newApp
		fetchErr  string // from the request
	}{
		{"right pin, self-signed backend", tunnel.AppConfig{PinSHA256: right}, "", ""},
		{"wrong pin", tunnel.AppConfig{PinSHA256: wrong}, "", "does not match the pinned"},
		{"CA bundle", tunnel.AppConfig{CAPEM: srvPEM}, "", ""},
		{"CA bundle and right pin", tunnel.AppConfig{CAPEM: srvPEM, PinSHA256: right}, "", ""},
		{"CA bundle and wrong pin", tunnel.AppConfig{CAPEM: srvPEM, PinSHA256: wrong}, "", "does not match the pinned"},
		{"right pin but the CA bundle does not sign it", tunnel.AppConfig{CAPEM: otherPEM, PinSHA256: right}, "", "certificate"},
		{"another CA", tunnel.AppConfig{CAPEM: otherPEM}, "", "certificate"},
		{"system roots do not know the backend", tunnel.AppConfig{}, "", "certificate"},
		{"server name the certificate lacks", tunnel.AppConfig{CAPEM: srvPEM, ServerName: "wrong.internal"}, "", "wrong.internal"},
		{"server name the certificate has", tunnel.AppConfig{CAPEM: srvPEM, ServerName: "example.com"}, "", ""},
		{"pin not hex", tunnel.AppConfig{PinSHA256: strings.Repeat("zz", 32)}, "64 hex characters", ""},
		{"pin too short", tunnel.AppConfig{PinSHA256: right[:62]}, "64 hex characters", ""},
		{"CA bundle without a certificate", tunnel.AppConfig{CAPEM: []byte("nothing")}, "holds no certificate", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Name, cfg.URL = "secure", srv.URL
			a, err := newApp(cfg, fastpath.All)
			if tt.configErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.configErr) {
					t.Fatalf("newApp = %v, want an error containing %q", err, tt.configErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("newApp: %v", err)
			}
			defer a.rt.CloseIdleConnections()
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			resp, err := a.rt.RoundTrip(req)
			if tt.fetchErr != "" {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request succeeded, want an error containing %q", tt.fetchErr)
				}
				if !strings.Contains(err.Error(), tt.fetchErr) {
					t.Fatalf("request error %v, want it to contain %q", err, tt.fetchErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "secret app" {
				t.Fatalf("body %q", body)
			}
		})
	}
}

func TestNewAppRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://x/", "http://", "/relative", "10.0.0.1:80", "http://[::1"} {
		if _, err := newApp(tunnel.AppConfig{Name: "a", URL: u}, fastpath.All); err == nil {
			t.Errorf("newApp accepted backend URL %q", u)
		}
	}
}

func BenchmarkWriteResponse(b *testing.B) {
	body := strings.Repeat("x", 100)
	req, _ := http.NewRequest("GET", "http://backend/", nil)
	bw := bufio.NewWriterSize(io.Discard, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		resp := &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: req, ContentLength: int64(len(body)),
			Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader(body))}
		if err := writeResp(bw, resp, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// writeResp is writeResponse without its byte count.
func writeResp(bw *bufio.Writer, resp *http.Response, long func()) error {
	_, err := writeResponse(bw, resp, long)
	return err
}
