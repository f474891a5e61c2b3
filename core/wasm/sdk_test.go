package wasm

import (
	"slices"
	"strings"
	"testing"
)

// The SDK (sdk/wasm/filter) end to end: a guest written with it, built
// with the standard toolchain, run by this host.
func TestSDKGuest(t *testing.T) {
	h := newHarness(t)
	f := h.load(t, goGuest(t, "./testdata/sdkguest"), func(s *Spec) { s.Config = []byte(`{"greeting": "hej"}`) })
	url := server(t, f.Wrap(echoApp())).URL

	t.Run("pass with a request header", func(t *testing.T) {
		_, body, _ := do(t, "GET", url+"/x", "", nil)
		if s := decodeSeen(t, body); s.Header.Get("X-Go") != "1" || s.URI != "/x" {
			t.Errorf("the app got %+v", s)
		}
	})
	t.Run("answer, request line, header names and values, config", func(t *testing.T) {
		res, body, _ := do(t, "GET", url+"/d?q=1", "", map[string]string{"X-Sdk": "describe", "X-Multi": "a"})
		want := `GET /d?q=1 HTTP/1.1 127.0.0.1 greeting=hej names=accept-encoding,host,user-agent,x-multi,x-request-id,x-sdk multi=["a"]`
		if res.StatusCode != 202 || body != want {
			t.Errorf("got %d %q, want 202 %q", res.StatusCode, body, want)
		}
	})
	t.Run("read the request body with BufferRequest", func(t *testing.T) {
		_, body, _ := do(t, "POST", url+"/", strings.Repeat("x", 5000), map[string]string{"X-Sdk": "body"})
		if s := decodeSeen(t, body); s.Header.Get("X-Body-Len") != "5000" || len(s.Body) != 5000 {
			t.Errorf("the app got X-Body-Len %q and %d bytes", s.Header.Get("X-Body-Len"), len(s.Body))
		}
	})
	t.Run("change the response with BufferResponse; log", func(t *testing.T) {
		res, body, rid := do(t, "GET", url+"/up", "", map[string]string{"X-Sdk": "upper"})
		if res.StatusCode != 299 || res.Header.Get("X-Upper") != "200" || !strings.Contains(body, `"URI":"/UP"`) {
			t.Errorf("got %d %v %q", res.StatusCode, res.Header, body)
		}
		if logs := h.logs.find(map[string]string{"request_id": rid, "msg": "upper-casing /up"}); len(logs) != 1 {
			t.Errorf("log records: %v", logs)
		}
	})
	t.Run("rewrite method, URI, headers and body", func(t *testing.T) {
		_, body, _ := do(t, "POST", url+"/orig", "old", map[string]string{"X-Sdk": "rewrite"})
		s := decodeSeen(t, body)
		if s.Method != "PATCH" || s.URI != "/rewritten" || s.Body != "new body" ||
			!slices.Equal(s.Header.Values("X-Added"), []string{"a", "b"}) || s.Header.Get("X-Sdk") != "" {
			t.Errorf("the app got %+v", s)
		}
	})
	t.Run("a panic in the filter is a 500", func(t *testing.T) {
		res, body, rid := do(t, "GET", url+"/", "", map[string]string{"X-Sdk": "unknown"})
		checkFailed(t, h, res, body, rid)
	})
}
