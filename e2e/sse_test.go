package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSSEIsNotBuffered reads a Server-Sent Events stream through gateway
// and connector. The backend writes event 1, flushes, and then blocks
// until the test has received event 1: if anything on the way buffered,
// event 1 would never arrive and the test times out.
func TestSSEIsNotBuffered(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	enrollConnector(t, g, "connector", "default")
	for _, h2 := range []bool{false, true} {
		name := map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2]
		t.Run(name, func(t *testing.T) {
			c := g.client(h2)
			waitServing(t, c, "https://app.localhost/hit")
			gt := be.gate(name)
			ctx, cancel := context.WithTimeout(context.Background(), 3*waitFor)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://app.localhost/sse?gate="+name, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("GET /sse: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] {
				t.Fatalf("GET /sse: %s %s, Content-Type %q", resp.Proto, resp.Status, resp.Header.Get("Content-Type"))
			}
			events := make(chan string, 2)
			go func() {
				defer close(events)
				br := bufio.NewReader(resp.Body)
				var ev strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					ev.WriteString(line)
					if line == "\n" {
						events <- ev.String()
						ev.Reset()
					}
				}
			}()

			select {
			case ev := <-events:
				if ev != "id: 1\ndata: first\n\n" {
					t.Fatalf("first event: %q", ev)
				}
			case <-time.After(waitFor):
				t.Fatalf("event 1 did not arrive within %v while the backend held the stream open: the response is buffered", waitFor)
			}
			select {
			case <-gt.done:
				t.Fatal("the backend handler ended before it was released: the test proved nothing")
			default:
			}
			close(gt.release)
			select {
			case ev := <-events:
				if ev != "id: 2\ndata: second\n\n" {
					t.Fatalf("second event: %q", ev)
				}
			case <-time.After(waitFor):
				t.Fatal("event 2 did not arrive")
			}
			select {
			case ev, ok := <-events:
				if ok {
					t.Fatalf("unexpected event after the last: %q", ev)
				}
			case <-time.After(waitFor):
				t.Fatal("the stream did not end after the backend finished")
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatalf("stream ended with an error: %v", err)
			}
		})
	}
}
