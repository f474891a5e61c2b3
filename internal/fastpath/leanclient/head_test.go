package leanclient

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// backendRequest turns a request as a server read it into the request a
// proxy sends to the backend http://backend.internal:8080/base, as the
// connector's outbound does: the path under the base path (its escaped
// form kept), the query as it came, the Host kept (preserveHost) or the
// backend's, and no Go User-Agent added. (connector/lean_test.go checks
// the connector's own outbound requests through the client.)
func backendRequest(ctx context.Context, in *http.Request, preserveHost bool) *http.Request {
	out := in.WithContext(ctx)
	out.RequestURI = ""
	out.URL = &url.URL{Scheme: "http", Host: "backend.internal:8080", Path: "/base" + in.URL.Path,
		RawPath: "/base" + in.URL.EscapedPath(), RawQuery: in.URL.RawQuery}
	if !preserveHost {
		out.Host = out.URL.Host
	}
	if out.Header.Get("User-Agent") == "" {
		out.Header["User-Agent"] = nil // do not add Go's default
	}
	return out
}

// TestWriteHeadMatchesRequestWrite checks that the lean client's request
// head is byte for byte what http.Request.Write sends, for requests as a
// proxy builds them from what it received (backendRequest).
func TestWriteHeadMatchesRequestWrite(t *testing.T) {
	tests := []struct{ name, in string }{
		{"GET", "GET /bytes/100 HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent: wrk\r\nX-Forwarded-For: 127.0.0.1\r\nX-Request-Id: 1\r\n\r\n"},
		{"no User-Agent", "GET /x?a=1&b=%20 HTTP/1.1\r\nHost: demo.localhost\r\nAccept: */*\r\n\r\n"},
		{"empty User-Agent", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent:\r\n\r\n"},
		{"two User-Agents", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nUser-Agent: a\r\nUser-Agent: b\r\n\r\n"},
		{"HEAD", "HEAD /x HTTP/1.1\r\nHost: demo.localhost\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"},
		{"OPTIONS", "OPTIONS /x HTTP/1.1\r\nHost: demo.localhost\r\nOrigin: https://o\r\n\r\n"},
		{"Content-Length 0", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nContent-Length: 0\r\n\r\n"},
		{"escaped path", "GET /a%2Fb/%C3%A9?q HTTP/1.1\r\nHost: demo.localhost\r\n\r\n"},
		{"forced empty query", "GET /x? HTTP/1.1\r\nHost: demo.localhost\r\n\r\n"},
		{"Connection close", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nConnection: close\r\n\r\n"},
		{"many headers", "GET /x HTTP/1.1\r\nHost: demo.localhost\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\n" +
			"J: 10\r\nK: 11\r\nL: 12\r\nM: 13\r\nN: 14\r\nO: 15\r\nP: 16\r\nQ: 17\r\nR: 18\r\nS: 19\r\nT: 20\r\nU: 21\r\nV: 22\r\nW: 23\r\n" +
			"X: 24\r\nY: 25\r\nZ: 26\r\nAa: 27\r\nAb: 28\r\nAc: 29\r\nAd: 30\r\nAe: 31\r\nAf: 32\r\nAg: 33\r\nAh: 34\r\n\r\n"},
	}
	for _, preserve := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/preserve_host=%v", tt.name, preserve), func(t *testing.T) {
				in, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tt.in)))
				if err != nil {
					t.Fatal(err)
				}
				out := backendRequest(t.Context(), in, preserve)
				// a sign-on plug-in may add anything
				out.Header["Bad Name"] = []string{"dropped"}
				out.Header["X-Injected"] = []string{" two\r\nlines "}
				if !Eligible(out) {
					t.Fatal("not lean-eligible")
				}
				var want, got bytes.Buffer
				bw := bufio.NewWriter(&want)
				if err := out.Write(bw); err != nil {
					t.Fatal(err)
				}
				bw.Flush()
				bw = bufio.NewWriter(&got)
				if err := writeHead(bw, out); err != nil {
					t.Fatal(err)
				}
				bw.Flush()
				if got.String() != want.String() {
					t.Fatalf("writeHead:\n%q\nreq.Write:\n%q", got.String(), want.String())
				}
			})
		}
	}
}
