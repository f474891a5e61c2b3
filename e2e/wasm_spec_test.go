package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The http-wasm spec's is_error and response-body rules hold through the
// real gateway, connector and backend, with the host's test guest
// (core/wasm/testdata/probe) as the app's filter. is_error is 1 for the
// gateway's error pages (backend down, no connector, timeout) and 0 for
// the backend's own answers, its 5xx included; a response body the guest
// writes before next is the start of the body, the backend's follows,
// with or without buffer_response, and it never goes before an error page.
func TestWASMSpecThroughGateway(t *testing.T) {
	probe := probeModule(t)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello from the backend")
	})
	mux.HandleFunc("GET /own-500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the backend's own error", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /block", func(w http.ResponseWriter, r *http.Request) {
		select { // past the app's 300 ms timeout: the gateway answers 504
		case <-release:
		case <-r.Context().Done():
		}
	})
	be := httptest.NewServer(mux)
	t.Cleanup(be.Close) // after close(release): cleanups run last-in first-out
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	closed := httptest.NewServer(http.NotFoundHandler())
	downURL := closed.URL
	closed.Close() // nothing listens there any more: "backend down"

	base := gwConfig{Groups: []string{"default", "nobody"}}
	g := newGateway(t, base)
	filters := `[{filter: probe, config: {}}]`
	apps := []appSpec{
		{Name: "app", Host: "app.localhost", Group: "default", URL: be.URL, Timeout: "300ms", Filters: filters},
		{Name: "down", Host: "down.localhost", Group: "default", URL: downURL, Filters: filters},
		{Name: "orphan", Host: "orphan.localhost", Group: "nobody", URL: be.URL, Filters: filters}, // no connector
	}
	catalog := fmt.Sprintf("filters:\n  - {name: probe, path: %q, sha256: %s}\n", probe, fileSum(t, probe))
	g.writeConfigText(catalog + specYAML(base, apps, g.public, g.tunnel, g.dataDir))
	g.start()
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/ok")
	send := func(url, xcase string) response {
		t.Helper()
		req := mustRequest(t, url)
		req.Header.Set("X-Case", xcase)
		r, err := do(t, c, req)
		if err != nil {
			t.Fatalf("GET %s (X-Case %s): %v", url, xcase, err)
		}
		return r
	}

	t.Run("is_error", func(t *testing.T) {
		for _, tc := range []struct {
			name, url, title, isError string
			status                    int
		}{
			{"a normal answer", "https://app.localhost/ok", "", "0", 200},
			{"the backend's own 500", "https://app.localhost/own-500", "", "0", 500},
			{"backend down", "https://down.localhost/x", "App not answering", "1", http.StatusBadGateway},
			{"no connector", "https://orphan.localhost/x", "App unavailable", "1", http.StatusServiceUnavailable},
			{"timeout", "https://app.localhost/block", "App too slow", "1", http.StatusGatewayTimeout},
		} {
			r := send(tc.url, "error-flag")
			if tc.title != "" {
				requireErrorPage(t, r, tc.status, tc.title)
			}
			if r.Status != tc.status || r.Header.Get("X-Is-Error") != tc.isError || r.Header.Get("X-Seen-Status") != fmt.Sprint(tc.status) {
				t.Errorf("%s: got %d, X-Is-Error %q, X-Seen-Status %q, want %d and is_error %s; body %q", tc.name, r.Status,
					r.Header.Get("X-Is-Error"), r.Header.Get("X-Seen-Status"), tc.status, tc.isError, r.Body)
			}
		}
	})

	t.Run("a response body written before next", func(t *testing.T) {
		for _, tc := range []struct{ xcase, want string }{
			{"pass", "hello from the backend"},
			{"body-then-next", "guest:hello from the backend"},
			{"body-then-next-buffered", "guest:hello from the backend"},
			{"body-then-next-rewrite", "replaced+more"},
		} {
			r := send("https://app.localhost/ok", tc.xcase)
			if r.Status != 200 || r.Body != tc.want {
				t.Errorf("%s: got %d %q, want %q", tc.xcase, r.Status, r.Body, tc.want)
			}
			if cl := r.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(r.Body)) {
				t.Errorf("%s: Content-Length %s for a %d-byte body", tc.xcase, cl, len(r.Body))
			}
		}
		for _, xcase := range []string{"body-then-next", "body-then-next-buffered"} {
			r := send("https://down.localhost/x", xcase)
			requireErrorPage(t, r, http.StatusBadGateway, "App not answering")
			if strings.Contains(r.Body, "guest:") {
				t.Errorf("%s: the guest's bytes went before the error page: %q", xcase, r.Body)
			}
		}
	})
}
