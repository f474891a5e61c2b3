package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/tunnel"
)

// received is a request as the connector parsed it.
type received struct {
	Method, URI, Host string
	Header            http.Header
	TransferEncoding  []string
	ContentLength     int64
	Body              string
	Trailer           http.Header
}

// recordDialer answers every stream with one canned response and keeps
// what it received. Its side of the stream closes after the response
// with hangUp, or else when the gateway closes.
type recordDialer struct {
	response string
	hangUp   bool
	mu       sync.Mutex
	got      []received
}

func (d *recordDialer) DialGroup(ctx context.Context, group string, avoid []string, reuse bool) (net.Conn, string, func(), error) {
	gw, c := net.Pipe()
	go func() {
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := tunnel.ReadRequestHeader(br); err != nil {
			return
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		d.mu.Lock()
		d.got = append(d.got, received{req.Method, req.RequestURI, req.Host, req.Header, req.TransferEncoding,
			req.ContentLength, string(body), req.Trailer})
		d.mu.Unlock()
		_, _ = io.WriteString(c, d.response)
		if !d.hangUp {
			_, _ = io.Copy(io.Discard, br)
		}
	}()
	return gw, "c1", func() {}, nil
}

// answered is a response as the client parsed it.
type answered struct {
	Status           int
	Header           http.Header
	TransferEncoding []string
	ContentLength    int64
	Body             string
	Trailer          http.Header
	Err              string
}

// TestLeanRelayMatchesReverseProxy sends the same requests through the
// lean relay and through httputil.ReverseProxy and checks that the
// connector receives, and the client gets, the same.
func TestLeanRelayMatchesReverseProxy(t *testing.T) {
	const (
		okResponse = "HTTP/1.1 200 OK\r\nConnection: X-Hop, close\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-App: yes\r\n" +
			"X-Request-Id: from-backend\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Gatehouse-Error:\r\nContent-Length: 5\r\n\r\nhello"
		chunkedTrailers = "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\nX-Late: 1\r\n\r\n"
		events          = "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 12\r\n\r\ndata: hi\r\n\r\n"
		noContent       = "HTTP/1.1 204 No Content\r\nX-App: yes\r\n\r\n"
		notModified     = "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n"
		untilClose      = "HTTP/1.1 200 OK\r\nX-App: yes\r\n\r\nstreamed until the connector closes"
		headResponse    = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
		short           = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"
	)
	get := "GET /app/page?q=1 HTTP/1.1\r\nHost: demo.example.com\r\nUser-Agent: test/1\r\nAccept: */*\r\n\r\n"
	tests := []struct {
		name, request, response string
	}{
		{"GET", get, okResponse},
		{"GET with hop-by-hop and forwarded headers",
			"GET /app/page HTTP/1.1\r\nHost: Demo.Example.com\r\nConnection: keep-alive, X-Custom-Hop, x-forwarded-proto\r\nX-Custom-Hop: 1\r\n" +
				"Keep-Alive: 300\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nX-Forwarded-For: 10.0.0.1\r\n" +
				"X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: http\r\nX-Request-Id: mine\r\n" +
				"X-Gatehouse-User: admin\r\nTe: gzip, Trailers\r\nExpect: 100-continue\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n", okResponse},
		{"Connection names X-Forwarded-For and User-Agent",
			"GET /app/ HTTP/1.1\r\nHost: demo.example.com\r\nConnection: X-Forwarded-For, User-Agent, X-Request-Id\r\nUser-Agent: ua\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n", okResponse},
		{"no User-Agent", "GET /app/x HTTP/1.1\r\nHost: demo.example.com\r\n\r\n", okResponse},
		{"empty User-Agent", "GET /app/x HTTP/1.1\r\nHost: demo.example.com\r\nUser-Agent:\r\n\r\n", okResponse},
		{"two User-Agents", "GET /app/x HTTP/1.1\r\nHost: demo.example.com\r\nUser-Agent: one\r\nUser-Agent: two\r\n\r\n", okResponse},
		{"escaped path and empty query", "GET /app/a%2Cb/%C3%A9?x=%20&y HTTP/1.1\r\nHost: demo.example.com\r\n\r\n", okResponse},
		{"forced empty query", "GET /app/x? HTTP/1.1\r\nHost: demo.example.com\r\n\r\n", okResponse},
		{"absolute-form target", "GET http://demo.example.com/app/abs?z=1 HTTP/1.1\r\nHost: demo.example.com\r\n\r\n", okResponse},
		{"host with port", "GET /app/x HTTP/1.1\r\nHost: demo.example.com:8443\r\n\r\n", okResponse},
		{"HEAD", "HEAD /app/x HTTP/1.1\r\nHost: demo.example.com\r\n\r\n", headResponse},
		{"OPTIONS", "OPTIONS /app/x HTTP/1.1\r\nHost: demo.example.com\r\n\r\n", okResponse},
		{"DELETE", "DELETE /app/x HTTP/1.1\r\nHost: demo.example.com\r\n\r\n", okResponse},
		{"POST without body", "POST /app/x HTTP/1.1\r\nHost: demo.example.com\r\nContent-Length: 0\r\n\r\n", okResponse},
		{"POST", "POST /app/form HTTP/1.1\r\nHost: demo.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\n\r\nform=1", okResponse},
		{"POST expecting 100-continue", "POST /app/form HTTP/1.1\r\nHost: demo.example.com\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\nform=1", okResponse},
		{"chunked PUT", "PUT /app/up HTTP/1.1\r\nHost: demo.example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n", okResponse},
		{"chunked PUT with trailers", "PUT /app/up HTTP/1.1\r\nHost: demo.example.com\r\nTrailer: X-Check\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Check: 7\r\n\r\n", okResponse},
		{"chunked response with trailers", get, chunkedTrailers},
		{"event stream", get, events},
		{"204", get, noContent},
		{"304", get, notModified},
		{"body until close", get, untilClose},
		{"cut-off body", get, short},
		{"upgrade", "GET /app/ws HTTP/1.1\r\nHost: demo.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [2]received
			var ans [2]answered
			for i, noLean := range []bool{true, false} {
				d := &recordDialer{response: tt.response, hangUp: tt.response == untilClose || tt.response == short}
				table := NewTable(5, testRoutes)
				h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
				h.noLean = noLean
				srv := httptest.NewServer(h)
				ans[i] = rawRoundTrip(t, srv.Listener.Addr().String(), tt.request)
				srv.Close()
				d.mu.Lock()
				if len(d.got) != 1 {
					t.Fatalf("noLean=%v: connector got %d requests", noLean, len(d.got))
				}
				got[i] = d.got[0]
				d.mu.Unlock()
				normalize(&got[i], &ans[i])
				if ans[i].ContentLength == -1 && !strings.Contains(tt.response, "Content-Type") {
					// Whether net/http sniffs a type for a flushed head
					// races with ReverseProxy's flush timer.
					delete(ans[i].Header, "Content-Type")
				}
			}
			if !equalJSON(got[0], got[1]) {
				t.Errorf("connector got different requests:\nReverseProxy: %+v\nlean:         %+v", got[0], got[1])
			}
			if !equalJSON(ans[0], ans[1]) {
				t.Errorf("client got different responses:\nReverseProxy: %+v\nlean:         %+v", ans[0], ans[1])
			}
		})
	}
}

// TestLeanRelayHTTP2 compares the two paths for HTTP/2 requests, whose
// bodies may come without a length.
func TestLeanRelayHTTP2(t *testing.T) {
	tests := []struct {
		name, method, body string
		length             int64
	}{
		{"GET", "GET", "", 0},
		{"POST with length", "POST", "hello", 5},
		{"POST without length", "POST", "hello", -1},
		{"OPTIONS", "OPTIONS", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [2]received
			var ans [2]answered
			for i, noLean := range []bool{true, false} {
				d := &recordDialer{response: "HTTP/1.1 200 OK\r\nX-App: yes\r\nContent-Length: 2\r\n\r\nok"}
				table := NewTable(5, testRoutes)
				h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
				h.noLean = noLean
				srv := httptest.NewUnstartedServer(h)
				srv.EnableHTTP2 = true
				srv.StartTLS()
				c := srv.Client()
				var body io.Reader
				if tt.body != "" {
					body = io.MultiReader(strings.NewReader(tt.body)) // no length known to the client
				}
				req, _ := http.NewRequest(tt.method, srv.URL+"/app/h2?x=1", body)
				req.Host = "demo.example.com"
				req.ContentLength = tt.length
				req.Header.Add("X-Forwarded-For", "10.1.1.1")
				res, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if res.ProtoMajor != 2 {
					t.Fatalf("client spoke %s", res.Proto)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				ans[i] = answered{Status: res.StatusCode, Header: res.Header, ContentLength: res.ContentLength, Body: string(b), Trailer: res.Trailer}
				srv.Close()
				d.mu.Lock()
				got[i] = d.got[0]
				d.mu.Unlock()
				normalize(&got[i], &ans[i])
			}
			if !equalJSON(got[0], got[1]) {
				t.Errorf("connector got different requests:\nReverseProxy: %+v\nlean:         %+v", got[0], got[1])
			}
			if !equalJSON(ans[0], ans[1]) {
				t.Errorf("client got different responses:\nReverseProxy: %+v\nlean:         %+v", ans[0], ans[1])
			}
		})
	}
}

// rawRoundTrip sends a request as written and reads the answer.
func rawRoundTrip(t *testing.T, addr, request string) answered {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	req, _ := http.ReadRequest(bufio.NewReader(strings.NewReader(request)))
	res, err := http.ReadResponse(br, req)
	for err == nil && res.StatusCode == http.StatusContinue {
		res, err = http.ReadResponse(br, req)
	}
	if err != nil {
		return answered{Err: err.Error()}
	}
	b, err := io.ReadAll(res.Body)
	a := answered{Status: res.StatusCode, Header: res.Header, TransferEncoding: res.TransferEncoding,
		ContentLength: res.ContentLength, Body: string(b), Trailer: res.Trailer}
	if err != nil {
		a.Err = err.Error()
	}
	return a
}

// normalize blanks what differs between any two runs: the request id,
// the client's port and the date.
func normalize(r *received, a *answered) {
	rid := r.Header.Get("X-Request-Id")
	if ids := a.Header["X-Request-Id"]; len(ids) > 0 {
		rid = ids[0]
		a.Header["X-Request-Id"] = slices.Clone(ids)
		a.Header["X-Request-Id"][0] = "RID"
	}
	delete(a.Header, "Date")
	if a.Header["Content-Type"] != nil && strings.HasPrefix(a.Header.Get("Content-Type"), "text/html") {
		a.Body = strings.ReplaceAll(a.Body, rid, "RID")
	}
	if r.Header.Get("X-Request-Id") == rid {
		r.Header.Set("X-Request-Id", "RID")
	}
	if xff := r.Header["X-Forwarded-For"]; len(xff) > 0 {
		r.Header["X-Forwarded-For"] = []string{strings.ReplaceAll(xff[0], "127.0.0.1", "CLIENT")}
	}
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
