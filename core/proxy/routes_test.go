package proxy

import (
	"fmt"
	"github.com/gatehouse/gatehouse/core/errorpage"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

var testRoutes = []Route{
	{App: "root", Group: "g", Host: "demo.example.com", Prefix: "/"},
	{App: "app", Group: "g", Host: "demo.example.com", Prefix: "/app"},
	{App: "appapi", Group: "g", Host: "demo.example.com", Prefix: "/app/api"},
	{App: "other", Group: "h", Host: "other.example.com", Prefix: "/x"},
}

func TestTableMatch(t *testing.T) {
	tests := []struct {
		host, path string
		want       string // app, "" for no match
	}{
		{"demo.example.com", "/", "root"},
		{"demo.example.com", "/anything/else", "root"},
		{"demo.example.com", "", "root"},
		// host: case, port, trailing dot
		{"DEMO.Example.COM", "/", "root"},
		{"demo.example.com:8443", "/app", "app"},
		{"demo.example.com.", "/app/x", "app"},
		{"Demo.Example.Com.:443", "/app/", "app"},
		// prefix boundaries
		{"demo.example.com", "/app", "app"},
		{"demo.example.com", "/app/", "app"},
		{"demo.example.com", "/apple", "root"},
		{"demo.example.com", "/app.html", "root"},
		{"demo.example.com", "/APP", "root"}, // paths are case-sensitive
		{"demo.example.com", "/ap", "root"},
		// longest prefix wins
		{"demo.example.com", "/app/api", "appapi"},
		{"demo.example.com", "/app/api/v1/users", "appapi"},
		{"demo.example.com", "/app/apix", "app"},
		{"demo.example.com", "/app/ap", "app"},
		// a host without a "/" route
		{"other.example.com", "/x", "other"},
		{"other.example.com", "/x/y", "other"},
		{"other.example.com", "/", ""},
		{"other.example.com", "/xy", ""},
		{"other.example.com", "", ""},
		// unknown hosts
		{"unknown.example.com", "/", ""},
		{"example.com", "/", ""},
		{"demo.example.com.evil.test", "/", ""},
		{"", "/", ""},
		{"[::1]:8443", "/", ""},
		{"demo.example.com:8443:1", "/", ""},
	}
	// The result must not depend on the order routes were configured in.
	orders := map[string][]Route{"configured": testRoutes, "reversed": slices.Clone(testRoutes)}
	slices.Reverse(orders["reversed"])
	for name, routes := range orders {
		table := NewTable(9, routes)
		if table.Version != 9 {
			t.Fatalf("Version = %d", table.Version)
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s%s", name, tt.host, tt.path), func(t *testing.T) {
				r := table.Match(tt.host, tt.path)
				got := ""
				if r != nil {
					got = r.App
				}
				if got != tt.want {
					t.Fatalf("Match(%q, %q) = %q, want %q", tt.host, tt.path, got, tt.want)
				}
			})
		}
	}
	if r := NewTable(1, nil).Match("demo.example.com", "/"); r != nil {
		t.Fatalf("empty table matched %+v", r)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		method string
		body   string // "" no body, "nobody" http.NoBody
		want   bool
	}{
		{http.MethodGet, "", true},
		{http.MethodGet, "nobody", true},
		{http.MethodHead, "", true},
		{http.MethodOptions, "nobody", true},
		{http.MethodGet, "payload", false},
		{http.MethodOptions, "payload", false},
		{http.MethodPost, "", false},
		{http.MethodPost, "payload", false},
		{http.MethodPut, "", false},
		{http.MethodPatch, "", false},
		{http.MethodDelete, "", false},
		{"PROPFIND", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+"/"+tt.body, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://x/", nil) // Body nil
			switch tt.body {
			case "":
			case "nobody":
				req.Body = http.NoBody
			default:
				req, _ = http.NewRequest(tt.method, "http://x/", strings.NewReader(tt.body))
			}
			if got := retryable(req); got != tt.want {
				t.Fatalf("retryable(%s with body %q) = %v, want %v", tt.method, tt.body, got, tt.want)
			}
		})
	}
}

func TestWritePage(t *testing.T) {
	tests := []struct {
		name     string
		accept   string
		pg       errorpage.Page
		wantType string
		wantBody []string
	}{
		{"browser gets HTML", "text/html,application/xhtml+xml,*/*;q=0.8", pageNoConnector, "text/html; charset=utf-8",
			[]string{"<!doctype html>", "<title>App unavailable</title>", "<h1>App unavailable</h1>", "<code>REQID</code>"}},
		{"curl gets text", "*/*", pageBackend, "text/plain; charset=utf-8",
			[]string{"App not answering: The app did not answer.", "(request id REQID)\n"}},
		{"no Accept gets text", "", pageUnknownHost, "text/plain; charset=utf-8", []string{"No such app: ", "REQID"}},
		{"API client gets text", "application/json", pageTimeout, "text/plain; charset=utf-8", []string{"App too slow", "REQID"}},
		{"HTML escapes what it shows", "text/html", errorpage.Page{Status: 502, Title: "<b>", Text: "a & b", RequestID: "<script>"}, "text/html; charset=utf-8",
			[]string{"<h1>&lt;b&gt;</h1>", "a &amp; b", "&lt;script&gt;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.pg
			if p.RequestID == "" {
				p.RequestID = "REQID"
			}
			r := httptest.NewRequest("GET", "https://demo.example.com/", nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			w := httptest.NewRecorder()
			errorpage.Write(w, r, p)
			res := w.Result()
			if res.StatusCode != p.Status {
				t.Errorf("status %d, want %d", res.StatusCode, p.Status)
			}
			for k, want := range map[string]string{
				"Content-Type": tt.wantType, "X-Request-Id": p.RequestID,
				"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
			} {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			body := w.Body.String()
			for _, s := range tt.wantBody {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
			if strings.Contains(body, "<script>") {
				t.Errorf("body has unescaped markup:\n%s", body)
			}
		})
	}
}

func TestStripSpoofable(t *testing.T) {
	h := http.Header{}
	for _, k := range []string{
		"X-Gatehouse-Error", "X-Gatehouse-User", "x-gatehouse-email", "X-GATEHOUSE-GROUPS",
		"X-Gatehouse-", "Accept", "X-Forwarded-For", "X-Gatehousex", "Gatehouse-User", "X-Request-Id",
	} {
		h.Add(k, "v") // Add canonicalises, as net/http's server does
	}
	stripSpoofable(h)
	var got []string
	for k := range h {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"Accept", "Gatehouse-User", "X-Forwarded-For", "X-Gatehousex", "X-Request-Id"}
	if !slices.Equal(got, want) {
		t.Fatalf("after stripSpoofable: %v, want %v", got, want)
	}
}

func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := errorpage.NewRequestID()
		if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("request id %q is not 16 lower-case hex digits", id)
		}
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
}

func BenchmarkTableMatch(b *testing.B) {
	var routes []Route
	for i := range 200 {
		host := fmt.Sprintf("app%d.example.com", i%50)
		routes = append(routes, Route{App: fmt.Sprint("a", i), Group: "g", Host: host, Prefix: fmt.Sprintf("/p%d", i)})
	}
	routes = append(routes, Route{App: "root", Group: "g", Host: "app7.example.com", Prefix: "/"})
	table := NewTable(1, routes)
	b.ReportAllocs()
	for b.Loop() {
		if table.Match("App7.Example.com:443", "/p57/deep/path") == nil {
			b.Fatal("no match")
		}
	}
}
