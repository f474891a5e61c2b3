package leanrelay

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

var bufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func TestEligible(t *testing.T) {
	for _, tt := range []struct {
		name, request string
		want          bool
	}{
		{"GET", "GET /x HTTP/1.1\r\nHost: a.example\r\n\r\n", true},
		{"POST with length", "POST /x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 1\r\n\r\nx", true},
		{"chunked PUT", "PUT /x HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
		{"upgrade", "GET /x HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false},
		{"declared trailers", "PUT /x HTTP/1.1\r\nHost: a.example\r\nTrailer: X-A\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", false},
		{"host not plain", "GET /x HTTP/1.1\r\nHost: a\xc3\xa9.example\r\n\r\n", false},
		{"chunked GET", "GET /x HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
	} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tt.request)))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := Eligible(r); got != tt.want {
			t.Errorf("%s: Eligible = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// write writes r as the proxy does, with fields emitted in order.
func write(t *testing.T, r *http.Request, fields [][2]string) (string, error) {
	t.Helper()
	q := Request{R: r, URI: Target(r), Bufs: &bufs}
	if HasBody(r) {
		q.Body = r.Body
	}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	f, err := q.WriteHead(bw)
	if err != nil {
		return "", err
	}
	for _, kv := range fields {
		f.Add(kv[0], kv[1])
	}
	err = q.WriteBody(bw)
	bw.Flush()
	return out.String(), err
}

// TestWriteIsReadBack writes requests and reads them back with net/http:
// the same method, target, host, fields and body, framed as announced.
func TestWriteIsReadBack(t *testing.T) {
	for _, tt := range []struct {
		name, method, target, body string
		length                     int64 // -1: unknown (chunked)
		fields                     [][2]string
		wantUA                     []string
		wantLength                 int64
		wantChunked                bool
	}{
		{"GET", "GET", "/a%2Fb/%C3%A9?q=1", "", 0, [][2]string{{"Accept", "*/*"}, {"X-Multi", "a"}, {"X-Multi", "b"}}, nil, 0, false},
		{"forced empty query", "GET", "/x?", "", 0, nil, nil, 0, false},
		{"first User-Agent only", "GET", "/", "", 0, [][2]string{{"User-Agent", "one"}, {"User-Agent", "two"}}, []string{"one"}, 0, false},
		{"empty User-Agent", "GET", "/", "", 0, [][2]string{{"User-Agent", ""}, {"User-Agent", "two"}}, nil, 0, false},
		{"value cleaned", "GET", "/", "", 0, [][2]string{{"X-Injected", " two\r\nlines "}}, nil, 0, false},
		{"POST without body", "POST", "/f", "", 0, nil, nil, 0, false},
		{"POST with length", "POST", "/f", "form=1", 6, nil, nil, 6, false},
		{"chunked PUT", "PUT", "/up", strings.Repeat("abcdefgh", 20000), -1, nil, nil, -1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = iotest.HalfReader(strings.NewReader(tt.body)) // several reads, several chunks
			}
			r := httptest.NewRequest(tt.method, "https://demo.example.com"+tt.target, body)
			r.ContentLength = tt.length
			raw, err := write(t, r, tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			got, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			if err != nil {
				t.Fatalf("%v in %q", err, raw)
			}
			gotBody, err := io.ReadAll(got.Body)
			if err != nil || string(gotBody) != tt.body {
				t.Fatalf("body %d bytes (%v), want %d", len(gotBody), err, len(tt.body))
			}
			if got.Method != tt.method || got.RequestURI != tt.target || got.Host != "demo.example.com" {
				t.Fatalf("%s %s Host %s", got.Method, got.RequestURI, got.Host)
			}
			if ua := got.Header["User-Agent"]; len(ua) != len(tt.wantUA) || (len(ua) > 0 && ua[0] != tt.wantUA[0]) {
				t.Fatalf("User-Agent %q, want %q", ua, tt.wantUA)
			}
			if got.ContentLength != tt.wantLength || (len(got.TransferEncoding) > 0) != tt.wantChunked {
				t.Fatalf("Content-Length %d, Transfer-Encoding %v", got.ContentLength, got.TransferEncoding)
			}
			if tt.method == "POST" && tt.body == "" && got.Header.Get("Content-Length") != "0" {
				t.Fatalf("a POST without body has no Content-Length: 0: %q", raw)
			}
			for _, kv := range tt.fields {
				if kv[0] != "User-Agent" && !strings.Contains(strings.Join(got.Header.Values(kv[0]), ","), strings.TrimSpace(strings.NewReplacer("\r", " ", "\n", " ").Replace(kv[1]))) {
					t.Fatalf("field %s: %q lost: %q", kv[0], kv[1], raw)
				}
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.RawQuery = "a\x7f"
	if _, err := write(t, r, nil); err == nil {
		t.Fatal("a control character in the target was written")
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("short"))
	r.ContentLength = 10
	if _, err := write(t, r, nil); err == nil || !strings.Contains(err.Error(), "ContentLength=10 with Body length 5") {
		t.Fatalf("a short body: %v", err)
	}
}

func TestCopyHeader(t *testing.T) {
	resp := &http.Response{Header: http.Header{
		"Connection": {"X-Hop, close"}, "X-Hop": {"1"}, "Keep-Alive": {"timeout=5"}, "Transfer-Encoding": {"chunked"},
		"X-App": {"yes"}, "Set-Cookie": {"a=1", "b=2"},
	}, Trailer: http.Header{"X-Sum": nil}}
	dst := http.Header{"X-Request-Id": {"rid"}, "X-App": {"gateway"}}
	if n := CopyHeader(dst, resp); n != 1 {
		t.Fatalf("announced %d trailers, want 1", n)
	}
	want := http.Header{"X-Request-Id": {"rid"}, "X-App": {"gateway", "yes"}, "Set-Cookie": {"a=1", "b=2"}, "Trailer": {"X-Sum"}}
	if len(dst) != len(want) {
		t.Fatalf("got %v, want %v", dst, want)
	}
	for k, v := range want {
		if strings.Join(dst[k], "|") != strings.Join(v, "|") {
			t.Fatalf("%s: %q, want %q", k, dst[k], v)
		}
	}
}
