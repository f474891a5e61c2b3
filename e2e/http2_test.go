package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// chunkedBody is what /chunked writes, piece by piece with a flush after
// each, without a Content-Length.
var chunkedBody = func() []byte {
	var b bytes.Buffer
	for i := range 200 {
		fmt.Fprintf(&b, "piece %03d %s\n", i, strings.Repeat(string(rune('a'+i%26)), 500+i))
	}
	return b.Bytes()
}()

// newHTTP2Backend serves /echo/{id} (answers its id), /chunked (a body
// of unknown length, flushed piece by piece), /trailers (a body followed
// by response trailers) and POST /reqtrailers (answers the request
// trailers it received after the body).
func newHTTP2Backend(t testing.TB) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /echo/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "echo %s", r.PathValue("id"))
	})
	mux.HandleFunc("GET /chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		f := w.(http.Flusher)
		for piece := range bytes.Lines(chunkedBody) {
			if _, err := w.Write(piece); err != nil {
				return
			}
			f.Flush()
		}
	})
	mux.HandleFunc("GET /trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Body-Length, X-Checksum")
		w.Header().Set("Content-Type", "text/plain")
		n, _ := io.WriteString(w, "body before the trailers\n")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Body-Length", strconv.Itoa(n))
		w.Header().Set("X-Checksum", "c0ffee")
	})
	mux.HandleFunc("POST /reqtrailers", func(w http.ResponseWriter, r *http.Request) {
		announced := r.Trailer.Get("X-Upload-Sum") == "" && len(r.Trailer) > 0
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "body=%q announced=%v X-Upload-Sum=%q", body, announced, r.Trailer.Get("X-Upload-Sum"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestPublicHTTP2 checks the public listener's HTTP/2: a client that
// merely allows HTTP/2 gets it; 50 concurrent requests share one
// connection and each gets its own answer; a response of unknown length
// arrives whole over HTTP/2 and, chunked, over HTTP/1.1; and response
// trailers set by the backend reach the client.
func TestPublicHTTP2(t *testing.T) {
	t.Parallel()
	be := newHTTP2Backend(t)
	g := startGatewaySpec(t, []string{"default"}, []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL}})
	enrollConnector(t, g, "connector", "default")
	h1 := g.client(false)
	waitServing(t, h1, "https://app.localhost/echo/ready")

	// A transport as an ordinary client configures it: both protocols
	// allowed, HTTP/2 chosen by ALPN. It counts its connections.
	var dials atomic.Int64
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, g.public)
		},
		TLSClientConfig:   &tls.Config{RootCAs: g.caPool()},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	h2 := &http.Client{Transport: tr}

	t.Run("ALPN picks HTTP/2", func(t *testing.T) {
		r := get(t, h2, "https://app.localhost/echo/first")
		if r.Proto != 2 || r.Status != http.StatusOK || r.Body != "echo first" {
			t.Fatalf("got HTTP/%d %d %q, want HTTP/2 200 %q", r.Proto, r.Status, r.Body, "echo first")
		}
	})
	t.Run("50 concurrent requests over one connection", func(t *testing.T) {
		if r := get(t, h2, "https://app.localhost/echo/warm-up"); r.Proto != 2 {
			t.Fatalf("warm-up request over HTTP/%d", r.Proto)
		}
		before := dials.Load() // the warm-up's connection, now idle in the pool
		const n = 50
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req := mustRequest(t, fmt.Sprintf("https://app.localhost/echo/%d", i))
				r, err := do(t, h2, req)
				want := fmt.Sprintf("echo %d", i)
				if err != nil || r.Status != http.StatusOK || r.Proto != 2 || r.Body != want {
					errs <- fmt.Sprintf("request %d: err %v, HTTP/%d %d %q; want HTTP/2 200 %q", i, err, r.Proto, r.Status, r.Body, want)
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		if n := dials.Load() - before; n != 0 {
			t.Errorf("the client opened %d more connections; HTTP/2 should carry every request on the one it had", n)
		}
	})
	t.Run("unknown length over HTTP/2", func(t *testing.T) {
		resp, body := getStream(t, h2, "https://app.localhost/chunked")
		if resp.ProtoMajor != 2 || resp.ContentLength != -1 {
			t.Errorf("HTTP/%d with Content-Length %d, want HTTP/2 with none (-1)", resp.ProtoMajor, resp.ContentLength)
		}
		requireSameBody(t, body, chunkedBody)
	})
	t.Run("unknown length over HTTP/1.1 is chunked", func(t *testing.T) {
		resp, body := getStream(t, h1, "https://app.localhost/chunked")
		if resp.ProtoMajor != 1 || resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
			t.Errorf("HTTP/%d.%d, Content-Length %d, Transfer-Encoding %q; want HTTP/1.1 chunked without Content-Length",
				resp.ProtoMajor, resp.ProtoMinor, resp.ContentLength, resp.TransferEncoding)
		}
		requireSameBody(t, body, chunkedBody)
	})
	for _, tc := range []struct {
		name string
		c    *http.Client
	}{{"HTTP/1.1", h1}, {"HTTP/2", h2}} {
		t.Run("response trailers over "+tc.name, func(t *testing.T) {
			resp, body := getStream(t, tc.c, "https://app.localhost/trailers")
			if string(body) != "body before the trailers\n" {
				t.Fatalf("body %q", body)
			}
			want := http.Header{"X-Body-Length": {"25"}, "X-Checksum": {"c0ffee"}}
			for k, v := range want {
				if got := resp.Trailer.Values(k); len(got) != 1 || got[0] != v[0] {
					t.Errorf("trailer %s = %q, want %q (all trailers: %v; header: %v)", k, got, v, resp.Trailer, resp.Header)
				}
			}
			if tc.c == h1 && (len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked") {
				t.Errorf("Transfer-Encoding %q; trailers need chunked", resp.TransferEncoding)
			}
		})
	}
}

// getStream GETs url, reads the whole body, and returns the response
// (with its trailers filled in) and the body.
func getStream(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %q", url, resp.Status, body)
	}
	return resp, body
}

func requireSameBody(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("body of %d bytes differs from the backend's %d bytes at byte %d", len(got), len(want), i)
	}
}

// TestRequestTrailers sends a chunked upload with a trailer the app
// allows (allow_trailers): the backend must receive the trailer's value
// after the body, over HTTP/1.1 and HTTP/2 on the public side. A control
// sends the same request straight to the backend.
func TestRequestTrailers(t *testing.T) {
	t.Parallel()
	be := newHTTP2Backend(t)
	base := gwConfig{Groups: []string{"default"}}
	g := newGateway(t, base)
	g.writeConfigText(strings.Replace(specYAML(base, []appSpec{{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL}}, g.public, g.tunnel, g.dataDir),
		"  - name: app\n", "  - name: app\n    allow_trailers: [X-Upload-Sum]\n", 1))
	g.start()
	enrollConnector(t, g, "connector", "default")
	h1 := g.client(false)
	waitServing(t, h1, "https://app.localhost/echo/ready")

	const want = `body="upload body" announced=true X-Upload-Sum="abc123"`
	send := func(t *testing.T, c *http.Client, url string) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, io.NopCloser(strings.NewReader("upload body")))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1
		req.Trailer = http.Header{"X-Upload-Sum": {"abc123"}}
		r, err := do(t, c, req)
		if err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
		return r
	}
	t.Run("control: straight to the backend", func(t *testing.T) {
		if r := send(t, &http.Client{}, be.URL+"/reqtrailers"); r.Status != http.StatusOK || r.Body != want {
			t.Fatalf("the backend answered %d %q, want %q; the test below would prove nothing", r.Status, r.Body, want)
		}
	})
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("through the gateway (h2=%v)", h2), func(t *testing.T) {
			r := send(t, g.client(h2), "https://app.localhost/reqtrailers")
			if r.Status != http.StatusOK || r.Body != want {
				t.Fatalf("over HTTP/%d the backend answered %d %q, want %q", r.Proto, r.Status, r.Body, want)
			}
		})
	}
}
