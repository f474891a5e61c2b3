package e2e

// Hostile protocol cases: request smuggling and resource exhaustion at the
// gateway's public side, over HTTP/1.1 as raw bytes on a TLS connection
// and over HTTP/2 frame by frame. Every case reads off the backend what
// reached it: never a smuggled request, never a request the client sent
// badly as a complete one, nothing for a refused request. Plain GETs take
// the gateway's own HTTP/1.1 fast path and requests with a body net/http's,
// so the header cases run on both.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// protoEnv is one gateway and connector for every case of a test: app
// "app" on a recorder, app "hold" on a backend that holds each request
// until its caller goes away.
type protoEnv struct {
	g    *gatewayProc
	rec  *recorder
	hold *holdBackend
	c    *http.Client
	pool *x509.CertPool
	n    atomic.Int64 // settle markers
}

func startProtoEnv(t *testing.T) *protoEnv {
	t.Helper()
	e := &protoEnv{rec: newRecorder(t), hold: newHoldBackend(t)}
	base, apps := ssoConfig(t, e.rec.URL, apiKey)
	h := apps[0]
	h.Name, h.Host, h.URL = "hold", "hold.localhost", e.hold.URL
	e.g = startGatewayWith(t, base, append(apps, h))
	enrollConnector(t, e.g, "connector", "default")
	e.c, e.pool = e.g.client(false), e.g.caPool()
	eventually(t, "the app served through the connector", func() bool {
		return getWith(t, e.c, "https://app.localhost/ready", "X-Api-Key", apiKey).Status == 200
	})
	return e
}

// holdBackend holds every request until the caller goes away, or for
// holdFor; a request with "X-Answer: now" is answered at once.
type holdBackend struct {
	URL      string
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	inflight int
	arrived  int
}

const holdFor = 60 * time.Second

func newHoldBackend(t *testing.T) *holdBackend {
	h := &holdBackend{changed: make(chan struct{})}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.update(+1, true)
		defer h.update(-1, false)
		if r.Header.Get("X-Answer") == "now" {
			io.WriteString(w, "ok")
			return
		}
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(holdFor):
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	h.URL = srv.URL
	return h
}

func (h *holdBackend) update(d int, arrived bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inflight += d
	if arrived {
		h.arrived++
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// state returns the requests in flight and arrived so far, and a channel
// closed at the next change.
func (h *holdBackend) state() (inflight, arrived int, changed <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inflight, h.arrived, h.changed
}

// waitInflight waits for the in-flight count to satisfy ok, up to d.
func (h *holdBackend) waitInflight(d time.Duration, ok func(int) bool) (int, bool) {
	timeout := time.After(d)
	for {
		n, _, ch := h.state()
		if ok(n) {
			return n, true
		}
		select {
		case <-ch:
		case <-timeout:
			n, _, _ = h.state()
			return n, ok(n)
		}
	}
}

// protoAuth is the header line that signs a raw request in.
const protoAuth = "X-Api-Key: " + apiKey + "\r\n"

// dial1 opens a raw HTTP/1.1 connection to the gateway for host.
func (e *protoEnv) dial(t *testing.T, host, proto string) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.g.public,
		&tls.Config{ServerName: host, RootCAs: e.pool, NextProtos: []string{proto}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(waitFor))
	return c
}

// raw sends b on a new HTTP/1.1 connection and reads up to n responses;
// it returns their statuses, then "closed" if the gateway closed the
// connection first.
func (e *protoEnv) raw(t *testing.T, b string, n int) []string {
	t.Helper()
	c := e.dial(t, "app.localhost", "http/1.1")
	write(t, c, []byte(b))
	return readResponses(c, n)
}

func readResponses(c net.Conn, n int) []string {
	br := bufio.NewReader(c)
	var out []string
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return append(out, "closed")
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprint(resp.StatusCode))
	}
	return out
}

// settle sends one good request and waits for its answer, so that what
// the connector does for earlier requests on its streams has happened.
func (e *protoEnv) settle(t *testing.T) {
	t.Helper()
	url := fmt.Sprintf("https://app.localhost/settle-%d", e.n.Add(1))
	if r := getWith(t, e.c, url, "X-Api-Key", apiKey); r.Status != 200 {
		t.Fatalf("settle request: %d %s", r.Status, r.Body)
	}
}

// seen returns what the backend received under path prefix p, and every
// CONNECT when p is "CONNECT".
func (e *protoEnv) seen(p string) []recorded {
	var out []recorded
	for _, r := range e.rec.since(0) {
		if strings.HasPrefix(r.URI, p) || p == http.MethodConnect && r.Method == p {
			out = append(out, r)
		}
	}
	return out
}

func describeRecs(rs []recorded) string {
	if len(rs) == 0 {
		return "nothing"
	}
	var parts []string
	for _, r := range rs {
		s := fmt.Sprintf("%s %s body=%d", r.Method, r.URI, r.Body)
		if r.BodyErr != "" {
			s += " (cut: " + r.BodyErr + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// complete reports whether a request reached the backend whole.
func anyComplete(rs []recorded) bool {
	for _, r := range rs {
		if r.BodyErr == "" {
			return true
		}
	}
	return false
}

func protoObserved(client []string, rs []recorded) string {
	return fmt.Sprintf("client %v; backend: %s", client, describeRecs(rs))
}

// refused runs a raw HTTP/1.1 case that must be refused with one of
// statuses: nothing under its path reaches the backend.
func (e *protoEnv) refused(t *testing.T, class, name, path, req string, statuses ...string) {
	hostile(t, class, name, "refused ("+strings.Join(statuses, " or ")+"), backend gets nothing", func(t *testing.T) (string, bool) {
		got := e.raw(t, req, 1)
		e.settle(t)
		rs := e.seen(path)
		ok := len(rs) == 0 && len(got) > 0
		if ok {
			ok = false
			for _, s := range statuses {
				ok = ok || got[0] == s
			}
		}
		return protoObserved(got, rs), ok
	})
}

// TestHostileProtocolHTTP1 sends malformed and ambiguous HTTP/1.1 as raw
// bytes.
func TestHostileProtocolHTTP1(t *testing.T) {
	e := startProtoEnv(t)
	const host = "Host: app.localhost\r\n"

	hostile(t, "smuggling", "CL.TE: Transfer-Encoding wins, the trailing request is the client's own", "backend: POST with an empty chunked body and no Content-Length; no smuggled request", func(t *testing.T) (string, bool) {
		inner := "GET /p/clte-smuggled HTTP/1.1\r\n" + host + "\r\n"
		body := "0\r\n\r\n" + inner
		got := e.raw(t, "POST /p/clte HTTP/1.1\r\n"+host+protoAuth+fmt.Sprintf("Content-Length: %d\r\n", len(body))+"Transfer-Encoding: chunked\r\n\r\n"+body, 2)
		e.settle(t)
		rs := e.seen("/p/clte")
		ok := len(rs) == 1 && rs[0].URI == "/p/clte" && rs[0].Body == 0 && rs[0].BodyErr == "" && len(headerNamed(rs[0].Header, "Content-Length")) == 0
		return protoObserved(got, rs), ok
	})
	hostile(t, "smuggling", "TE.CL: the chunked body is forwarded whole, Content-Length dropped", "backend: one POST with the 8 chunked bytes", func(t *testing.T) (string, bool) {
		got := e.raw(t, "POST /p/tecl HTTP/1.1\r\n"+host+protoAuth+"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", 1)
		e.settle(t)
		rs := e.seen("/p/tecl")
		ok := len(rs) == 1 && rs[0].Body == 8 && rs[0].BodyErr == "" && len(got) == 1 && got[0] == "200" &&
			!strings.Contains(strings.Join(headerNamed(rs[0].Header, "Content-Length"), ","), "3")
		return protoObserved(got, rs), ok
	})
	e.refused(t, "smuggling", "two Content-Length headers with different values", "/p/dupcl",
		"POST /p/dupcl HTTP/1.1\r\n"+host+protoAuth+"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "400")
	e.refused(t, "smuggling", "Content-Length with a sign (+5)", "/p/clsign",
		"POST /p/clsign HTTP/1.1\r\n"+host+protoAuth+"Content-Length: +5\r\n\r\nhello", "400")
	e.refused(t, "smuggling", "Content-Length with a space inside (1 0)", "/p/clspace",
		"POST /p/clspace HTTP/1.1\r\n"+host+protoAuth+"Content-Length: 1 0\r\n\r\nhelloworld", "400")
	e.refused(t, "smuggling", "Transfer-Encoding: xchunked", "/p/xchunked",
		"POST /p/xchunked HTTP/1.1\r\n"+host+protoAuth+"Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "400", "501")
	e.refused(t, "smuggling", "Transfer-Encoding: chunked, identity", "/p/chunkedid",
		"POST /p/chunkedid HTTP/1.1\r\n"+host+protoAuth+"Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "400", "501")
	hostile(t, "smuggling", "Transfer-Encoding: chunked folded onto a continuation line", "refused, or one request with the 5 chunked bytes", func(t *testing.T) (string, bool) {
		got := e.raw(t, "POST /p/tefold HTTP/1.1\r\n"+host+protoAuth+"Transfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 1)
		e.settle(t)
		rs := e.seen("/p/tefold")
		ok := len(got) == 1 && (got[0] == "400" && len(rs) == 0 ||
			got[0] == "200" && len(rs) == 1 && rs[0].Body == 5 && rs[0].BodyErr == "")
		return protoObserved(got, rs), ok
	})
	for _, v := range []struct{ path, method, body string }{{"/p/fold-get", "GET", ""}, {"/p/fold-post", "POST", "Content-Length: 1\r\n"}} {
		hostile(t, "smuggling", "obs-fold continuation cannot add a header ("+v.method+")", "refused, or the fold is part of X-Folded: no X-Injected at the backend", func(t *testing.T) (string, bool) {
			req := v.method + " " + v.path + " HTTP/1.1\r\n" + host + protoAuth + "X-Folded: a\r\n X-Injected: yes\r\n" + v.body + "\r\n"
			if v.body != "" {
				req += "x"
			}
			got := e.raw(t, req, 1)
			e.settle(t)
			rs := e.seen(v.path)
			ok := len(got) == 1 && (got[0] == "400" && len(rs) == 0 ||
				got[0] == "200" && len(rs) == 1 && len(headerNamed(rs[0].Header, "X-Injected")) == 0)
			return protoObserved(got, rs), ok
		})
	}
	for _, v := range []struct{ path, method, body string }{{"/p/lf-get", "GET", ""}, {"/p/lf-post", "POST", "Content-Length: 5\n"}} {
		hostile(t, "smuggling", "bare LF line endings ("+v.method+")", "refused, or exactly one request framed as sent", func(t *testing.T) (string, bool) {
			req := v.method + " " + v.path + " HTTP/1.1\nHost: app.localhost\n" + strings.TrimSuffix(protoAuth, "\r\n") + "\n" + v.body + "\n"
			want := int64(0)
			if v.body != "" {
				req, want = req+"hello", 5
			}
			got := e.raw(t, req, 1)
			e.settle(t)
			rs := e.seen(v.path)
			ok := len(got) == 1 && (got[0] == "400" && len(rs) == 0 ||
				got[0] == "200" && len(rs) == 1 && rs[0].Body == want && rs[0].BodyErr == "")
			return protoObserved(got, rs), ok
		})
	}
	hostile(t, "smuggling", "HTTP/1.0 keep-alive with a body, then a second request", "backend: the POST with its 5 bytes; the unsigned second request never", func(t *testing.T) (string, bool) {
		got := e.raw(t, "POST /p/h10 HTTP/1.0\r\n"+host+protoAuth+"Connection: keep-alive\r\nContent-Length: 5\r\n\r\nhello"+
			"GET /p/h10-second HTTP/1.0\r\n"+host+"\r\n", 2)
		e.settle(t)
		rs := e.seen("/p/h10")
		ok := len(rs) == 1 && rs[0].URI == "/p/h10" && rs[0].Body == 5 && rs[0].BodyErr == ""
		return protoObserved(got, rs), ok
	})
	hostile(t, "smuggling", "HTTP/1.0 with Transfer-Encoding: chunked (ignored in 1.0)", "backend: never the chunk data as a body or as a request", func(t *testing.T) (string, bool) {
		got := e.raw(t, "POST /p/h10te HTTP/1.0\r\n"+host+protoAuth+"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"5\r\nhello\r\n0\r\n\r\n", 2)
		e.settle(t)
		rs := e.seen("/p/h10te")
		ok := len(rs) <= 1
		for _, r := range rs {
			ok = ok && r.Body == 0
		}
		return protoObserved(got, rs), ok
	})
	for _, v := range []struct{ path, method, body string }{{"/p/nul-get", "GET", ""}, {"/p/nul-post", "POST", "Content-Length: 1\r\n"}} {
		req := v.method + " " + v.path + " HTTP/1.1\r\n" + host + protoAuth + "X-Nul: a\x00b\r\n" + v.body + "\r\n"
		if v.body != "" {
			req += "x"
		}
		e.refused(t, "smuggling", "NUL in a header value ("+v.method+")", v.path, req, "400")
	}
	e.refused(t, "smuggling", "CONNECT over HTTP/1.1", http.MethodConnect,
		"CONNECT app.localhost:443 HTTP/1.1\r\nHost: app.localhost:443\r\n"+protoAuth+"\r\n", "405")
	e.refused(t, "smuggling", "CONNECT with an origin-form target", http.MethodConnect,
		"CONNECT /p/connect2 HTTP/1.1\r\n"+host+protoAuth+"\r\n", "400", "405")
	hostile(t, "smuggling", "Upgrade: h2c is never forwarded", "200, backend gets the GET without Upgrade or HTTP2-Settings", func(t *testing.T) (string, bool) {
		got := e.raw(t, "GET /p/h2c HTTP/1.1\r\n"+host+protoAuth+"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", 1)
		e.settle(t)
		rs := e.seen("/p/h2c")
		ok := len(got) == 1 && got[0] == "200" && len(rs) == 1 &&
			len(headerNamed(rs[0].Header, "Upgrade")) == 0 && len(headerNamed(rs[0].Header, "HTTP2-Settings")) == 0
		if len(rs) == 1 {
			return protoObserved(got, rs) + fmt.Sprintf(" upgrade=%q", headerNamed(rs[0].Header, "Upgrade")), ok
		}
		return protoObserved(got, rs), ok
	})
	hostile(t, "smuggling", "malformed chunked body", "400, backend gets no complete request", func(t *testing.T) (string, bool) {
		got := e.raw(t, "POST /p/badchunk HTTP/1.1\r\n"+host+protoAuth+"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloZZ\r\n0\r\n\r\n", 1)
		e.settle(t)
		rs := e.seen("/p/badchunk")
		return protoObserved(got, rs), len(got) == 1 && got[0] == "400" && !anyComplete(rs)
	})
	hostile(t, "smuggling", "Content-Length body cut short by the client", "400, backend gets no complete request", func(t *testing.T) (string, bool) {
		c := e.dial(t, "app.localhost", "http/1.1")
		write(t, c, []byte("POST /p/cutcl HTTP/1.1\r\n"+host+protoAuth+"Content-Length: 100\r\n\r\n0123456789"))
		_ = c.CloseWrite()
		got := readResponses(c, 1)
		e.settle(t)
		rs := e.seen("/p/cutcl")
		return protoObserved(got, rs), len(got) == 1 && got[0] == "400" && !anyComplete(rs)
	})
	for _, v := range []struct{ path, method, body string }{{"/p/flood-get", "GET", ""}, {"/p/flood-post", "POST", "Content-Length: 1\r\n"}} {
		var b strings.Builder
		b.WriteString(v.method + " " + v.path + " HTTP/1.1\r\n" + host + protoAuth)
		for i := range 10000 {
			fmt.Fprintf(&b, "X-%d: 1\r\n", i) // ~90 KiB of small headers
		}
		b.WriteString(v.body + "\r\n")
		if v.body != "" {
			b.WriteString("x")
		}
		e.refused(t, "exhaustion", "header flood: 10,000 headers, over 64 KiB ("+v.method+")", v.path, b.String(), "431")
	}
	hostile(t, "exhaustion", "slowloris: a head trickled byte by byte", "connection closed after the header timeout (bounded); backend gets nothing", func(t *testing.T) (string, bool) {
		c := e.dial(t, "app.localhost", "http/1.1")
		req := []byte("GET /p/slow HTTP/1.1\r\n" + host + protoAuth + strings.Repeat("X-Slow: 1\r\n", 100))
		closed := make(chan error, 1)
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(waitFor + 10*time.Second))
			_, err := c.Read(make([]byte, 1))
			closed <- err
		}()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		var err error
	trickle:
		for i := 0; ; i++ {
			select {
			case err = <-closed:
				break trickle
			case <-tick.C:
				_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Write(req[i%len(req) : i%len(req)+1])
			}
		}
		e.settle(t)
		rs := e.seen("/p/slow")
		timedOut := errors.Is(err, os.ErrDeadlineExceeded)
		return fmt.Sprintf("read: %v; backend: %s", err, describeRecs(rs)), !timedOut && len(rs) == 0
	})
	e.g.proc.requireAlive(t)
}

// h2Client speaks HTTP/2 frame by frame.
type h2Client struct {
	c   *tls.Conn
	bw  *bufio.Writer
	fr  *http2.Framer
	enc *hpack.Encoder
	hb  bytes.Buffer
}

func (e *protoEnv) dialH2(t *testing.T, host string) *h2Client {
	t.Helper()
	c := e.dial(t, host, "h2")
	h := &h2Client{c: c, bw: bufio.NewWriterSize(c, 64<<10)}
	h.fr = http2.NewFramer(h.bw, c)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.MaxHeaderListSize = 1 << 20
	h.enc = hpack.NewEncoder(&h.hb)
	h.bw.WriteString(http2.ClientPreface)
	_ = h.fr.WriteSettings()
	_ = h.fr.WriteWindowUpdate(0, 1<<30)
	h.flush(t)
	return h
}

func (h *h2Client) flush(t *testing.T) {
	t.Helper()
	if err := h.bw.Flush(); err != nil {
		t.Fatalf("HTTP/2 write: %v", err)
	}
}

// block encodes name, value pairs.
func (h *h2Client) block(fields ...string) []byte {
	h.hb.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = h.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(h.hb.Bytes())
}

// headers writes a header block on stream id, in HEADERS and as many
// CONTINUATION frames as it needs.
func (h *h2Client) headers(id uint32, end bool, fields ...string) {
	b := h.block(fields...)
	const max = 16 << 10
	first := b[:min(len(b), max)]
	b = b[len(first):]
	_ = h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(b) == 0})
	for len(b) > 0 {
		n := min(len(b), max)
		_ = h.fr.WriteContinuation(id, n == len(b), b[:n])
		b = b[n:]
	}
}

// get is the request head for path on host, signed in.
func h2Get(host, path string, more ...string) []string {
	return append([]string{":method", "GET", ":scheme", "https", ":authority", host, ":path", path, "x-api-key", apiKey}, more...)
}

// result reads frames until stream id ends and returns its status, "RST
// <code>", "GOAWAY <code>" or "closed".
func (h *h2Client) result(t *testing.T, id uint32) string {
	t.Helper()
	status := ""
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			if status != "" {
				return status + " (then closed)"
			}
			return "closed"
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = h.fr.WriteSettingsAck()
				h.flush(t)
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = h.fr.WritePing(true, f.Data)
				h.flush(t)
			}
		case *http2.GoAwayFrame:
			if f.LastStreamID < id || f.ErrCode != http2.ErrCodeNo {
				return "GOAWAY " + f.ErrCode.String()
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return "RST " + f.ErrCode.String()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == id {
				status = f.PseudoValue("status")
				if f.StreamEnded() {
					return status
				}
			}
		case *http2.DataFrame:
			if f.StreamID == id && f.StreamEnded() {
				return status
			}
		}
	}
}

// TestHostileProtocolHTTP2 sends malformed and abusive HTTP/2.
func TestHostileProtocolHTTP2(t *testing.T) {
	e := startProtoEnv(t)
	const app = "app.localhost"

	// one runs a request on a new connection and returns how it ended.
	one := func(t *testing.T, send func(h *h2Client)) string {
		h := e.dialH2(t, app)
		send(h)
		h.flush(t)
		return h.result(t, 1)
	}
	refused := func(name, path string, fields ...string) {
		hostile(t, "smuggling", name, "stream refused (RST or 400), backend gets nothing", func(t *testing.T) (string, bool) {
			got := one(t, func(h *h2Client) { h.headers(1, true, h2Get(app, path, fields...)...) })
			e.settle(t)
			rs := e.seen(path)
			return protoObserved([]string{got}, rs), len(rs) == 0 && (strings.HasPrefix(got, "RST ") || got == "400")
		})
	}
	refused("HTTP/2 request with a transfer-encoding header", "/h2/te", "transfer-encoding", "chunked")
	refused("HTTP/2 request with a connection header", "/h2/conn", "connection", "keep-alive")
	refused("HTTP/2 request with an upgrade header (h2c)", "/h2/upgrade", "upgrade", "h2c")

	body := func(name, path, cl string, data int, want string) {
		hostile(t, "smuggling", name, want+", backend gets no complete request", func(t *testing.T) (string, bool) {
			got := one(t, func(h *h2Client) {
				f := h2Get(app, path, "content-length", cl)
				f[1] = "POST"
				h.headers(1, false, f...)
				_ = h.fr.WriteData(1, true, bytes.Repeat([]byte("x"), data))
			})
			e.settle(t)
			rs := e.seen(path)
			ok := !anyComplete(rs) && (got == "400" || want != "400" && strings.HasPrefix(got, "RST "))
			return protoObserved([]string{got}, rs), ok
		})
	}
	body("HTTP/2 DATA shorter than content-length", "/h2/short", "100", 10, "400")
	body("HTTP/2 DATA longer than content-length", "/h2/long", "5", 10, "RST or 400")

	hostile(t, "smuggling", "HTTP/2 CONNECT", "405, backend gets nothing", func(t *testing.T) (string, bool) {
		got := one(t, func(h *h2Client) {
			h.headers(1, true, ":method", "CONNECT", ":authority", "app.localhost:443", "x-api-key", apiKey)
		})
		e.settle(t)
		rs := e.seen(http.MethodConnect)
		return protoObserved([]string{got}, rs), got == "405" && len(rs) == 0
	})
	hostile(t, "smuggling", "HTTP/2 extended CONNECT (:protocol)", "refused (RST or 4xx), backend gets nothing", func(t *testing.T) (string, bool) {
		got := one(t, func(h *h2Client) {
			h.headers(1, true, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "https",
				":authority", app, ":path", "/h2/xconnect", "x-api-key", apiKey)
		})
		e.settle(t)
		rs := e.seen("/h2/xconnect")
		return protoObserved([]string{got}, rs), len(rs) == 0 && (strings.HasPrefix(got, "RST ") || strings.HasPrefix(got, "4") || strings.HasPrefix(got, "GOAWAY"))
	})

	hostile(t, "exhaustion", "HTTP/2 header flood: 4,000 headers, over 64 KiB", "431 (or refused), backend gets nothing", func(t *testing.T) (string, bool) {
		var f []string
		for i := range 4000 {
			f = append(f, fmt.Sprintf("x-flood-%d", i), "0123456789")
		}
		got := one(t, func(h *h2Client) { h.headers(1, true, h2Get(app, "/h2/flood", f...)...) })
		e.settle(t)
		rs := e.seen("/h2/flood")
		return protoObserved([]string{got}, rs), len(rs) == 0 && (got == "431" || strings.HasPrefix(got, "RST ") || strings.HasPrefix(got, "GOAWAY"))
	})
	hostile(t, "exhaustion", "HTTP/2 CONTINUATION flood (never END_HEADERS)", "connection closed before 64 MiB were sent; backend gets nothing", func(t *testing.T) (string, bool) {
		h := e.dialH2(t, app)
		_ = h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h.block(h2Get(app, "/h2/contflood")...), EndStream: true})
		h.flush(t)
		junk := bytes.Repeat(h.block("x-junk", strings.Repeat("j", 100)), 16<<10/110)
		sent := make(chan int, 1)
		go func() {
			n := 0
			_ = h.c.SetWriteDeadline(time.Now().Add(waitFor))
			for ; n < 4096; n++ { // 64 MiB at most
				if h.fr.WriteContinuation(1, false, junk) != nil || h.bw.Flush() != nil {
					break
				}
			}
			sent <- n
		}()
		var end string
		for end == "" {
			f, err := h.fr.ReadFrame()
			switch {
			case err != nil:
				end = "closed"
			case f.Header().Type == http2.FrameGoAway:
				end = "GOAWAY " + f.(*http2.GoAwayFrame).ErrCode.String()
			}
		}
		h.c.Close()
		n := <-sent
		e.settle(t)
		rs := e.seen("/h2/contflood")
		return fmt.Sprintf("%s after %d CONTINUATION frames; backend: %d requests", end, n, len(rs)),
			n < 4096 && len(rs) == 0
	})
	hostile(t, "exhaustion", "HTTP/2 rapid reset: 300 streams opened and reset at once", "backend in-flight drains to 0; nothing more arrives for the reset streams", func(t *testing.T) (string, bool) {
		return e.rapidReset(t, 300, false)
	})
	hostile(t, "exhaustion", "HTTP/2 reset of 100 streams the backend is holding", "every held backend request is cancelled (in-flight drains to 0); nothing more arrives", func(t *testing.T) (string, bool) {
		return e.rapidReset(t, 100, true)
	})
	e.g.proc.requireAlive(t)
}

// rapidReset opens n streams to the holding backend and resets them: at
// once, or (held) once the backend holds all n. Then the backend's
// in-flight count must drain to 0, and of two more requests on the
// connection nothing but those two may arrive.
func (e *protoEnv) rapidReset(t *testing.T, n int, held bool) (string, bool) {
	_, before, _ := e.hold.state()
	h := e.dialH2(t, "hold.localhost")
	for i := range n {
		id := uint32(2*i + 1)
		h.headers(id, true, h2Get("hold.localhost", fmt.Sprintf("/rr/%d", i))...)
		if !held {
			_ = h.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
	}
	h.flush(t)
	if held {
		if got, ok := e.hold.waitInflight(waitFor, func(i int) bool { return i >= n }); !ok {
			return fmt.Sprintf("only %d of %d requests reached the backend", got, n), false
		}
		for i := range n {
			_ = h.fr.WriteRSTStream(uint32(2*i+1), http2.ErrCodeCancel)
		}
		h.flush(t)
	}
	// A request after the resets on the same connection: by its answer,
	// the gateway has taken in every reset.
	next := uint32(2*n + 1)
	h.headers(next, true, h2Get("hold.localhost", "/rr/sentinel", "x-answer", "now")...)
	h.flush(t)
	sentinel := h.result(t, next)
	left, drained := e.hold.waitInflight(15*time.Second, func(i int) bool { return i == 0 })
	_, afterDrain, _ := e.hold.state()
	h.headers(next+2, true, h2Get("hold.localhost", "/rr/sentinel2", "x-answer", "now")...)
	h.flush(t)
	sentinel2 := h.result(t, next+2)
	_, final, _ := e.hold.state()
	obs := fmt.Sprintf("sentinels %s/%s; %d reset requests reached the backend; in flight after the resets: %d (drained %v); arrivals after that: %d",
		sentinel, sentinel2, afterDrain-before-1, left, drained, final-afterDrain-1)
	return obs, sentinel == "200" && sentinel2 == "200" && drained && final == afterDrain+1
}
