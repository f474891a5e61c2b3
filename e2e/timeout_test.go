package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackendTimeout checks backend.timeout, the limit on the wait for
// the backend's response headers once the request has been sent: a
// backend that does not answer within it is a 504 page; "timeout: 0"
// lets a long job answer; and an upload that takes longer than the
// timeout to send is not cut, because the limit counts only from the end
// of the request.
func TestBackendTimeout(t *testing.T) {
	t.Parallel()
	// /block waits until the test ends; /slow answers after 1.5 s, well
	// beyond the 300 ms limit of app "slow" (so only "timeout: 0" can
	// explain a 200 from it).
	release := make(chan struct{})
	var blocked atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /block", func(w http.ResponseWriter, r *http.Request) {
		blocked.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "long job done")
	})
	slowBE := httptest.NewServer(mux)
	t.Cleanup(slowBE.Close) // runs after close(release): cleanups run last-in first-out
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	be := newBackend(t) // POST /upload hashes the body

	g := startGatewaySpec(t, []string{"default"}, []appSpec{
		{Name: "slow", Host: "slow.localhost", Group: "default", URL: slowBE.URL, Timeout: "300ms"},
		{Name: "nolimit", Host: "nolimit.localhost", Group: "default", URL: slowBE.URL, Timeout: "0"},
		{Name: "upload", Host: "upload.localhost", Group: "default", URL: be.URL, Timeout: "300ms"},
	})
	conn := enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServingStatus(t, c, "https://slow.localhost/nothing-here", http.StatusNotFound)

	t.Run("no answer within the timeout is 504", func(t *testing.T) {
		t.Parallel()
		rid := requireErrorPage(t, get(t, c, "https://slow.localhost/block"), http.StatusGatewayTimeout, "App too slow")
		if n := blocked.Load(); n != 1 {
			t.Fatalf("the backend received the request %d times, want 1 (a timeout is not retried)", n)
		}
		conn.log.waitLines(t, "the connector to log the timeout", 1, "backend request failed", "request_id="+rid, "timeout awaiting response headers")
		g.log().waitLines(t, "the gateway to log the 504", 1, "request failed", "request_id="+rid, "status=504")
	})
	t.Run("timeout 0 lets a long job answer", func(t *testing.T) {
		t.Parallel()
		r := get(t, c, "https://nolimit.localhost/slow")
		if r.Status != http.StatusOK || r.Body != "long job done" {
			t.Fatalf("GET /slow with timeout 0: %d %q, want 200 %q", r.Status, r.Body, "long job done")
		}
	})
	t.Run("control: the long job on the 300ms app is 504", func(t *testing.T) {
		t.Parallel()
		requireErrorPage(t, get(t, c, "https://slow.localhost/slow"), http.StatusGatewayTimeout, "App too slow")
	})
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("an upload slower than the timeout succeeds (h2=%v)", h2), func(t *testing.T) {
			t.Parallel()
			slowUpload(t, g.client(h2), "https://upload.localhost/upload", 20, 50*time.Millisecond)
		})
	}
}

// slowUpload POSTs n chunks of 1000 bytes, one every gap, with unknown
// length, and checks that the backend answered 200 with the byte count
// and SHA-256 of the whole body.
func slowUpload(t *testing.T, c *http.Client, url string, n int, gap time.Duration) {
	t.Helper()
	pr, pw := io.Pipe()
	sent := make(chan string, 1) // the body's SHA-256, once all of it is written
	go func() {
		sum := sha256.New()
		chunk := []byte(strings.Repeat("0123456789", 100))
		for i := range n {
			if i > 0 {
				time.Sleep(gap)
			}
			chunk[0] = byte('a' + i%26)
			sum.Write(chunk)
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		sent <- hex.EncodeToString(sum.Sum(nil))
		pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	r, err := do(t, c, req)
	pr.CloseWithError(io.ErrClosedPipe) // stop the writer if the answer came early
	if err != nil {
		t.Fatalf("slow upload: %v", err)
	}
	// /upload answers "<bytes> <sha256> <transfer-encoding>"; the
	// connector sends a body of unknown length chunked.
	var sha string
	select {
	case sha = <-sent:
	default:
		t.Fatalf("slow upload over HTTP/%d: answered %d %q before the whole body was sent", r.Proto, r.Status, r.Body)
	}
	want := fmt.Sprintf("%d %s chunked", n*1000, sha)
	if r.Status != http.StatusOK || r.Body != want {
		t.Fatalf("slow upload over HTTP/%d: %d %q, want 200 %q", r.Proto, r.Status, r.Body, want)
	}
}
