package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/examples/wasm/internal/e2e"
)

func TestEndToEnd(t *testing.T) {
	f := e2e.Load(t, e2e.Build(t), `{"csp": "default-src 'self'"}`, nil)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("Server", "Apache/2.4.1")
		w.Header().Set("X-Powered-By", "PHP/5.2")
		w.(http.Flusher).Flush() // still streams: the filter buffers nothing
		io.WriteString(w, "hello")
	})
	srv := httptest.NewServer(f.Wrap(app))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	h := res.Header
	if string(body) != "hello" || h.Get("Strict-Transport-Security") == "" || h.Get("Content-Security-Policy") != "default-src 'self'" ||
		len(h.Values("X-Frame-Options")) != 1 || h.Get("X-Frame-Options") != "DENY" || h.Get("Server") != "" || h.Get("X-Powered-By") != "" {
		t.Errorf("got %q with %v", body, h)
	}
}
