package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/examples/wasm/internal/e2e"
)

func TestEndToEnd(t *testing.T) {
	f := e2e.Load(t, e2e.Build(t), `{"deny": ["/admin"], "message": "Not here"}`, nil)
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") })
	srv := httptest.NewServer(f.Wrap(app))
	defer srv.Close()
	for path, want := range map[string]string{"/ok": "200 app", "/admin/x": "403 Not here (request id r1)\n", "/%61dmin": "403 Not here (request id r1)\n"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("X-Request-Id", "r1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := strings.TrimPrefix(res.Status, ""); !strings.HasPrefix(got, want[:3]) || string(b) != want[4:] {
			t.Errorf("%s: %s %q, want %q", path, res.Status, b, want)
		}
	}
}
