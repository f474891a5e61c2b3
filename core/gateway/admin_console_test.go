package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// The console before the gateway is attached: off answers 404 with a
// hint, dev mode 503 until the state is loaded; a request naming another
// host (DNS rebinding) is refused on the whole listener.
func TestAdminConsoleGate(t *testing.T) {
	for _, tt := range []struct {
		name, top string
		want      int
		body      string
	}{
		{"off", "admin: {pprof: false}\n", 404, "admin.console"},
		{"dev mode, not loaded yet", "admin: {console: {dev_no_signin: true}}\n", 503, "not loaded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := lifecycleConfig(t, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", tt.top, "")
			cfg.Listen.Admin = "127.0.0.1:0"
			a, err := ListenAdmin(cfg, "v", slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if code, body := get(t, a, "/"); code != tt.want || !strings.Contains(body, tt.body) {
				t.Errorf("GET /: %d %q, want %d with %q", code, body, tt.want, tt.body)
			}
			if code, _ := get(t, a, "/.gatehouse/auth/_console/start"); code != 404 {
				t.Errorf("sign-in start without console auth: %d, want 404", code)
			}
			for _, path := range []string{"/", "/api/v1/status", "/metrics"} {
				req, _ := http.NewRequest(http.MethodGet, "http://"+a.Addr()+path, nil)
				req.Host = "rebound.example:9180"
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusMisdirectedRequest {
					t.Errorf("%s with Host %s: %d %q, want 421", path, req.Host, resp.StatusCode, b)
				}
			}
		})
	}
}
