package connector

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/tunnel"
)

// TestOutbound checks the request the connector sends to the backend for
// a request as the gateway writes it on the stream.
func TestOutbound(t *testing.T) {
	tests := []struct {
		name         string
		backend      string
		prefix       string
		preserveHost bool
		requestURI   string // as the gateway sends it
		wantURL      string
		wantHost     string
	}{
		{"whole host, root backend", "http://10.0.0.5:8080", "/", false, "/a/b?q=1", "http://10.0.0.5:8080/a/b?q=1", "10.0.0.5:8080"},
		{"whole host, backend base path", "http://10.0.0.5/base", "/", false, "/a", "http://10.0.0.5/base/a", "10.0.0.5"},
		{"base path with a trailing slash", "http://10.0.0.5/base/", "", false, "/a", "http://10.0.0.5/base/a", "10.0.0.5"},
		{"prefix replaced by the root", "http://hr.corp/", "/hr", false, "/hr/x", "http://hr.corp/x", "hr.corp"},
		{"prefix alone", "http://hr.corp", "/hr", false, "/hr", "http://hr.corp/", "hr.corp"},
		{"prefix replaced by a base path", "https://hr.corp/portal", "/hr", false, "/hr/x/y?z", "https://hr.corp/portal/x/y?z", "hr.corp"},
		{"escaped slash kept", "http://hr.corp/", "/hr", false, "/hr/a%2Fb", "http://hr.corp/a%2Fb", "hr.corp"},
		{"escaped slash kept with a base path", "http://hr.corp/base", "/", false, "/a%2Fb/c", "http://hr.corp/base/a%2Fb/c", "hr.corp"},
		{"space", "http://hr.corp/", "/hr", false, "/hr/a%20b", "http://hr.corp/a%20b", "hr.corp"},
		{"prefix written with an escape", "http://hr.corp/", "/hr", false, "/h%72/x", "http://hr.corp/x", "hr.corp"},
		{"external host preserved", "http://10.0.0.5", "/", true, "/x", "http://10.0.0.5/x", "portal.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newApp(tunnel.AppConfig{Name: "hr", URL: tt.backend, PathPrefix: tt.prefix, PreserveHost: tt.preserveHost, ExternalHost: "portal.example.com"}, fastpath.All)
			if err != nil {
				t.Fatal(err)
			}
			raw := "GET " + tt.requestURI + " HTTP/1.1\r\nHost: portal.example.com\r\nX-Forwarded-Host: portal.example.com\r\n\r\n"
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			out := outbound(context.Background(), req, a)
			if got := out.URL.String(); got != tt.wantURL {
				t.Errorf("backend URL %s, want %s", got, tt.wantURL)
			}
			if out.Host != tt.wantHost {
				t.Errorf("Host %q, want %q", out.Host, tt.wantHost)
			}
			if out.RequestURI != "" {
				t.Errorf("RequestURI %q left set: http.Transport refuses such a request", out.RequestURI)
			}
			if ua, ok := out.Header["User-Agent"]; !ok || ua != nil {
				t.Errorf("User-Agent %v: the backend must see no Go default", ua)
			}
		})
	}
}
