package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestForwardedHeaders checks what the backend sees of the client's
// headers: X-Forwarded-For is appended to, X-Forwarded-Proto/Host and
// X-Request-Id are set by the gateway (whatever the client sent), headers
// only Gatehouse may set are stripped, and hop-by-hop headers stop at the
// gateway.
func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	g := startGateway(t, oneApp(be.URL))
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

	echo := func(t *testing.T, h http.Header) (echoed, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://app.localhost/headers", nil)
		for k, vs := range h {
			req.Header[k] = vs
		}
		r, err := do(t, c, req)
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("GET /headers: %v %d %s", err, r.Status, r.Body)
		}
		var e echoed
		if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
			t.Fatalf("backend answer %q: %v", r.Body, err)
		}
		return e, r.Header
	}
	want := func(t *testing.T, e echoed, key, value string) {
		t.Helper()
		if got := e.Headers.Values(key); len(got) != 1 || got[0] != value {
			t.Errorf("backend saw %s = %q, want [%q]", key, got, value)
		}
	}
	absent := func(t *testing.T, e echoed, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if v, ok := e.Headers[http.CanonicalHeaderKey(k)]; ok {
				t.Errorf("backend saw %s = %q; it must not reach the backend", k, v)
			}
		}
	}

	t.Run("client sent X-Forwarded-For", func(t *testing.T) {
		e, _ := echo(t, http.Header{"X-Forwarded-For": {"203.0.113.7"}})
		want(t, e, "X-Forwarded-For", "203.0.113.7, 127.0.0.1")
	})
	t.Run("no X-Forwarded-For", func(t *testing.T) {
		e, resp := echo(t, nil)
		want(t, e, "X-Forwarded-For", "127.0.0.1")
		want(t, e, "X-Forwarded-Proto", "https")
		want(t, e, "X-Forwarded-Host", "app.localhost")
		want(t, e, "X-Request-Id", resp.Get("X-Request-Id"))
	})
	t.Run("client cannot set gateway headers", func(t *testing.T) {
		e, resp := echo(t, http.Header{
			"X-Forwarded-Proto":    {"http"},
			"X-Forwarded-Host":     {"evil.example"},
			"X-Request-Id":         {"spoofed"},
			"X-Gatehouse-Anything": {"forged"},
			"X-Gatehouse-Error":    {"backend_unreachable"},
			"x-gatehouse-identity": {"admin"},
		})
		want(t, e, "X-Forwarded-Proto", "https")
		want(t, e, "X-Forwarded-Host", "app.localhost")
		want(t, e, "X-Request-Id", resp.Get("X-Request-Id"))
		absent(t, e, "X-Gatehouse-Anything", "X-Gatehouse-Error", "X-Gatehouse-Identity")
	})
	hop := http.Header{
		"Connection":          {"X-Foo"},
		"X-Foo":               {"hop"},
		"Keep-Alive":          {"timeout=5"},
		"Te":                  {"gzip"},
		"Proxy-Authorization": {"Basic Zm9vOmJhcg=="},
		"X-End-To-End":        {"kept"},
	}
	t.Run("control: the client does send hop-by-hop headers", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, be.URL+"/headers", nil)
		for k, vs := range hop {
			req.Header[k] = vs
		}
		r, err := do(t, &http.Client{}, req)
		var e echoed
		if err != nil || json.Unmarshal([]byte(r.Body), &e) != nil {
			t.Fatalf("direct GET /headers: %v %q", err, r.Body)
		}
		for _, k := range []string{"X-Foo", "Keep-Alive", "Te", "Proxy-Authorization"} {
			if e.Headers.Get(k) == "" {
				t.Fatalf("sent straight to the backend, %s did not arrive; the gateway test below would prove nothing", k)
			}
		}
	})
	t.Run("hop-by-hop headers stop at the gateway", func(t *testing.T) {
		e, _ := echo(t, hop)
		absent(t, e, "X-Foo", "Keep-Alive", "Te", "Proxy-Authorization")
		for _, v := range e.Headers.Values("Connection") {
			if v == "X-Foo" {
				t.Errorf("backend saw Connection: %s", v)
			}
		}
		want(t, e, "X-End-To-End", "kept") // the request did carry the client's headers
	})
}
