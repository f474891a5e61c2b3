package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/examples/wasm/internal/e2e"
)

// internalApp emits its internal URLs everywhere a browser would follow
// them, plus a link to the other published app.
func internalApp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hr/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "1", Domain: "hr.corp.local", Path: "/hr/", HttpOnly: true})
		w.Header().Set("Location", "http://hr.corp.local:8080/hr/home")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/hr/home", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, `<link href="http://hr.corp.local:8080/hr/s.css"><a href="http://wiki.corp.local/doc">wiki</a>`)
	})
	mux.HandleFunc("/hr/s.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		io.WriteString(w, `body{background:url(http://hr.corp.local:8080/hr/bg.png)}`)
	})
	mux.HandleFunc("/hr/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `const api = "http://hr.corp.local:8080/hr/api"; const esc = "http:\/\/wiki.corp.local\/x";`)
	})
	mux.HandleFunc("/hr/api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen", r.Header.Get("Origin")+" "+r.Header.Get("Referer"))
		io.WriteString(w, `{"next":"http:\/\/hr.corp.local:8080\/hr\/api?page=2"}`)
	})
	mux.HandleFunc("/hr/gz", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			http.Error(w, "the filter must ask for gzip only, got "+r.Header.Get("Accept-Encoding"), 400)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, `<a href="http://hr.corp.local:8080/hr/z">z</a>`)
		zw.Close()
	})
	mux.HandleFunc("/hr/logo.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		io.WriteString(w, "http://hr.corp.local:8080/hr/ is not a link in a PNG")
	})
	return mux
}

func TestEndToEnd(t *testing.T) {
	f := e2e.Load(t, e2e.Build(t), `{"links": [
		{"internal": "http://hr.corp.local:8080/hr", "external": "https://hr.example.com/"},
		{"internal": "http://wiki.corp.local", "external": "https://wiki.example.com"}]}`, nil)
	srv := httptest.NewServer(f.Wrap(internalApp()))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, header map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/hr"+path, nil)
		req.Host = "hr.example.com"
		req.Header.Set("Accept-Encoding", "gzip, br")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var rd io.Reader = res.Body
		if res.Header.Get("Content-Encoding") == "gzip" {
			if rd, err = gzip.NewReader(res.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(b)
	}

	res, _ := get("/login", nil)
	if res.StatusCode != 302 || res.Header.Get("Location") != "https://hr.example.com/home" ||
		res.Header.Get("Set-Cookie") != "sid=1; Path=/; Domain=hr.example.com; HttpOnly" {
		t.Errorf("login: %d %v", res.StatusCode, res.Header)
	}
	for _, tc := range []struct{ path, want string }{
		{"/home", `<link href="https://hr.example.com/s.css"><a href="https://wiki.example.com/doc">wiki</a>`},
		{"/s.css", `body{background:url(https://hr.example.com/bg.png)}`},
		{"/app.js", `const api = "https://hr.example.com/api"; const esc = "https:\/\/wiki.example.com\/x";`},
		{"/api", `{"next":"https:\/\/hr.example.com\/api?page=2"}`},
		{"/gz", `<a href="https://hr.example.com/z">z</a>`},
		{"/logo.png", "http://hr.corp.local:8080/hr/ is not a link in a PNG"},
	} {
		res, body := get(tc.path, map[string]string{"Origin": "https://hr.example.com", "Referer": "https://hr.example.com/home"})
		if res.StatusCode != 200 || body != tc.want {
			t.Errorf("%s: %d %q\nwant %q", tc.path, res.StatusCode, body, tc.want)
		}
		if tc.path == "/api" && res.Header.Get("X-Seen") != "http://hr.corp.local:8080 http://hr.corp.local:8080/hr/home" {
			t.Errorf("the app saw Origin and Referer %q", res.Header.Get("X-Seen"))
		}
		if tc.path == "/home" && res.Header.Get("ETag") != `W/"v1"` {
			t.Errorf("ETag %q, want a weak one", res.Header.Get("ETag"))
		}
		if tc.path == "/gz" && (res.Header.Get("Content-Encoding") != "" || res.ContentLength != int64(len(tc.want))) {
			t.Errorf("gz: %v", res.Header)
		}
	}
	if _, body := get("/home", map[string]string{"Accept": "text/event-stream"}); !strings.Contains(body, "http://wiki.corp.local/doc") {
		t.Errorf("an event-stream request was buffered and translated: %q", body)
	}
}
