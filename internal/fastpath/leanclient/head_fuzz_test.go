package leanclient

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// FuzzWriteHeadMatchesRequestWrite is the differential check of the lean
// client's head writer: for any request net/http can read, made a backend
// request by backendRequest, writeHead must write exactly the bytes
// http.Request.Write writes, so the backend can never read a different
// request (an injected field, a split head) from the fast path than from
// net/http.
func FuzzWriteHeadMatchesRequestWrite(f *testing.F) {
	for _, s := range []string{
		"GET /bytes/100 HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent: wrk\r\nX-Request-Id: 1\r\n\r\n",
		"GET /x?a=1&b=%20 HTTP/1.1\r\nHost: demo.localhost\r\nAccept: */*\r\n\r\n",
		"HEAD /x HTTP/1.1\r\nHost: demo.localhost\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: demo.localhost\r\n\r\n",
		"GET /a%2Fb/%C3%A9?q HTTP/1.1\r\nHost: demo.localhost\r\nX: a\r\n b\r\n\r\n",
		"GET http://other.example/x HTTP/1.1\r\nHost: demo.localhost\r\nConnection: close\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: [::1]:80\r\nUser-Agent:\r\nX-Empty:\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, raw []byte, preserve bool) {
		in, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		out := backendRequest(t.Context(), in, preserve)
		if !Eligible(out) {
			return
		}
		var want, got bytes.Buffer
		bw := bufio.NewWriter(&want)
		wantErr := out.Write(bw)
		bw.Flush()
		bw = bufio.NewWriter(&got)
		gotErr := writeHead(bw, out)
		bw.Flush()
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("req.Write error %v, writeHead error %v", wantErr, gotErr)
		}
		if wantErr == nil && got.String() != want.String() {
			t.Fatalf("writeHead:\n%q\nreq.Write:\n%q", got.String(), want.String())
		}
		if wantErr == nil && strings.Count(got.String(), "\r\n\r\n") != 1 {
			t.Fatalf("head has more than one end: %q", got.String())
		}
	})
}
