package wasm

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The four places where the http-wasm spec speaks and this host once
// differed from it, each tested on both sides: next other than 0 or 1, a
// response body written in handle_request before next, the request body
// read again after next with buffer_request, and is_error for the host's
// error pages.

// The writer core/proxy marks through an interface of its own.
var _ interface{ MarkHostError() } = (*responseWriter)(nil)

// specApp is the echo app, plus paths that answer as the gateway and a
// backend would in the cases the spec names.
func specApp() http.Handler {
	echo := echoApp()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/no-content":
			w.WriteHeader(http.StatusNoContent)
		case "/backend-500": // the backend's own error: an answer, not a host error
			w.Header().Set("X-App", "echo")
			w.Header().Set("Content-Length", "16")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("backend says no\n"))
		case "/host-error": // the gateway's error page, as core/proxy writes it
			markHostError(w)
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("App not answering\n"))
		default:
			echo.ServeHTTP(w, r)
		}
	})
}

func specServer(t *testing.T, edit func(*Spec)) (*harness, string) {
	t.Helper()
	h := newHarness(t)
	f := h.load(t, goGuest(t, "./testdata/probe"), edit)
	return h, server(t, f.Wrap(specApp())).URL
}

func checkObs(t *testing.T, h *harness, rid string, want ...string) {
	t.Helper()
	if got := h.logs.observations(rid); !slices.Equal(got, want) {
		t.Errorf("observed %q, want %q", got, want)
	}
}

// next: the spec says "zero or one"; like the reference host, any value
// but zero passes the request on, and zero answers whatever the upper
// half holds.
func TestSpecNextValue(t *testing.T) {
	h, url := specServer(t, nil)
	t.Run("next=1 passes on", func(t *testing.T) {
		res, body, _ := do(t, "GET", url+"/one", "", map[string]string{"X-Case": "pass"})
		if res.StatusCode != 200 || decodeSeen(t, body).URI != "/one" {
			t.Errorf("got %d %q", res.StatusCode, body)
		}
	})
	t.Run("next=7 passes on and handle_response gets the ctx", func(t *testing.T) {
		res, body, rid := do(t, "GET", url+"/seven", "", map[string]string{"X-Case": "next-7"})
		if res.StatusCode != 200 || decodeSeen(t, body).URI != "/seven" {
			t.Errorf("got %d %q", res.StatusCode, body)
		}
		checkObs(t, h, rid, "handle_response ctx=46 is_error=0")
	})
	t.Run("next=0 with a ctx answers and skips handle_response", func(t *testing.T) {
		res, body, rid := do(t, "GET", url+"/zero", "", map[string]string{"X-Case": "next-0-with-ctx"})
		if res.StatusCode != 203 || body != "answered" || res.Header.Get("X-App") != "" {
			t.Errorf("got %d %q %v", res.StatusCode, body, res.Header)
		}
		checkObs(t, h, rid)
	})
}

// write_body(response) in handle_request then next: the spec's first
// write replaces the (empty) body and the next handler's output follows,
// with or without buffer_response; a write in handle_response replaces
// it all again.
func TestSpecResponseBodyBeforeNext(t *testing.T) {
	h, url := specServer(t, nil)
	t.Run("without buffer_response the guest's bytes start the streamed body", func(t *testing.T) {
		res, body, rid := do(t, "GET", url+"/stream", "", map[string]string{"X-Case": "body-then-next"})
		rest, ok := strings.CutPrefix(body, "guest:")
		if res.StatusCode != 200 || !ok || decodeSeen(t, rest).URI != "/stream" || res.Header.Get("X-App") != "echo" {
			t.Fatalf("got %d %q %v", res.StatusCode, body, res.Header)
		}
		if res.ContentLength != -1 && res.ContentLength != int64(len(body)) {
			t.Errorf("Content-Length %d for a %d-byte body", res.ContentLength, len(body))
		}
		checkObs(t, h, rid, "handle_response ctx=60 is_error=0", "status=200 read=0 eof=1")
	})
	t.Run("with buffer_response handle_response reads the whole body", func(t *testing.T) {
		res, body, rid := do(t, "GET", url+"/buffered", "", map[string]string{"X-Case": "body-then-next-buffered"})
		rest, ok := strings.CutPrefix(body, "guest:")
		if res.StatusCode != 200 || !ok || decodeSeen(t, rest).URI != "/buffered" {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
		if res.ContentLength != int64(len(body)) {
			t.Errorf("Content-Length %d for a %d-byte body", res.ContentLength, len(body))
		}
		checkObs(t, h, rid, "handle_response ctx=61 is_error=0", fmt.Sprintf("body=%q", body))
	})
	t.Run("a write in handle_response replaces guest's and app's bytes", func(t *testing.T) {
		res, body, _ := do(t, "GET", url+"/", "", map[string]string{"X-Case": "body-then-next-rewrite"})
		if res.StatusCode != 200 || body != "replaced+more" || res.ContentLength != int64(len(body)) {
			t.Errorf("got %d %q (length %d)", res.StatusCode, body, res.ContentLength)
		}
	})
	t.Run("without a write the app's body is untouched", func(t *testing.T) {
		for _, c := range []string{"pass", "buffered-untouched"} {
			res, body, _ := do(t, "GET", url+"/plain", "", map[string]string{"X-Case": c})
			if res.StatusCode != 200 || decodeSeen(t, body).URI != "/plain" {
				t.Errorf("%s: got %d %q", c, res.StatusCode, body)
			}
		}
	})
	t.Run("no body where the status allows none", func(t *testing.T) {
		for _, c := range []string{"body-then-next", "body-then-next-buffered"} {
			res, body, _ := do(t, "GET", url+"/no-content", "", map[string]string{"X-Case": c})
			if res.StatusCode != 204 || body != "" {
				t.Errorf("%s: got %d %q", c, res.StatusCode, body)
			}
		}
	})
	t.Run("the guest's bytes do not go before a host error page", func(t *testing.T) {
		for _, c := range []string{"body-then-next", "body-then-next-buffered"} {
			res, body, _ := do(t, "GET", url+"/host-error", "", map[string]string{"X-Case": c})
			if res.StatusCode != 502 || body != "App not answering\n" {
				t.Errorf("%s: got %d %q", c, res.StatusCode, body)
			}
		}
	})
	t.Run("the guest's bytes count against max_body_bytes", func(t *testing.T) {
		_, small := specServer(t, func(s *Spec) { s.MaxBodyBytes = 64 })
		res, body, rid := do(t, "GET", small+"/"+strings.Repeat("x", 40), "", map[string]string{"X-Case": "body-then-next-buffered"})
		if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, rid) {
			t.Errorf("got %d %q, want the 502 of a response over max_body_bytes", res.StatusCode, body)
		}
	})
}

// read_body(request) after next: with buffer_request the body is read
// again from its start (buffered before next if the guest had not read
// it); without it the body went to the next handler and reads EOF.
func TestSpecRequestBodyAfterNext(t *testing.T) {
	h, url := specServer(t, func(s *Spec) { s.PoolSize = 1; s.MaxBodyBytes = 100; s.MaxFailures = 1 })
	cases := []struct {
		name, c, body, app string
		want               []string
	}{
		{"buffer_request: read before next, read again after", "request-reread", "0123456789", "0123456789",
			[]string{"handle_response ctx=63 is_error=0", `first="0123456789" again="0123456789" eofs=--E`}},
		{"buffer_request: not read before next, read after", "request-reread-unread", "0123456789", "0123456789",
			[]string{"handle_response ctx=64 is_error=0", `after="0123456789" eofs=E`}},
		{"buffer_request on the same instance, no body: nothing of the last request", "request-reread-unread", "", "",
			[]string{"handle_response ctx=64 is_error=0", `after="" eofs=E`}},
		{"no buffer_request: the next handler got the rest, after next is EOF", "request-stream-then-after", "0123456789", "456789",
			[]string{"handle_response ctx=65 is_error=0", `first="0123" after="" eofs=E`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.body == "" {
				method = "GET"
			}
			res, body, rid := do(t, method, url+"/", tc.body, map[string]string{"X-Case": tc.c})
			if res.StatusCode != 200 || decodeSeen(t, body).Body != tc.app {
				t.Fatalf("got %d %q, want the app to get %q", res.StatusCode, body, tc.app)
			}
			checkObs(t, h, rid, tc.want...)
		})
	}
	t.Run("a body over max_body_bytes buffered before next: 413, handle_response with is_error", func(t *testing.T) {
		res, body, rid := do(t, "POST", url+"/", strings.Repeat("y", 101), map[string]string{"X-Case": "request-reread-unread"})
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, rid) {
			t.Errorf("got %d %q, want 413", res.StatusCode, body)
		}
		checkObs(t, h, rid, "handle_response ctx=64 is_error=1", `after="" eofs=E`)
		checkServes(t, url, map[string]string{"X-Case": "pass"}) // MaxFailures is 1: not counted
	})
	t.Run("no buffer_request: the same large body streams through", func(t *testing.T) {
		big := strings.Repeat("z", 1000)
		res, body, _ := do(t, "POST", url+"/", big, map[string]string{"X-Case": "pass"})
		if res.StatusCode != 200 || decodeSeen(t, body).Body != big {
			t.Errorf("got %d (%d bytes)", res.StatusCode, len(body))
		}
	})
}

// is_error: one when the host answered in place of the next handler (an
// error page of the gateway, an inner filter's failure, a panic), zero
// for the next handler's own answer, a backend's 5xx included.
func TestSpecErrorFlag(t *testing.T) {
	h, url := specServer(t, nil)
	for _, tc := range []struct {
		name, path string
		status     int
		isError    string
	}{
		{"a normal answer", "/ok", 200, "0"},
		{"the backend's own 500", "/backend-500", 500, "0"},
		{"the gateway's error page", "/host-error", 502, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body, rid := do(t, "GET", url+tc.path, "", map[string]string{"X-Case": "error-flag"})
			if res.StatusCode != tc.status || res.Header.Get("X-Is-Error") != tc.isError ||
				res.Header.Get("X-Seen-Status") != fmt.Sprint(tc.status) {
				t.Errorf("got %d X-Is-Error %q X-Seen-Status %q: %q", res.StatusCode,
					res.Header.Get("X-Is-Error"), res.Header.Get("X-Seen-Status"), body)
			}
			checkObs(t, h, rid, "handle_response ctx=66 is_error="+tc.isError)
			_, _, rid = do(t, "GET", url+tc.path, "", map[string]string{"X-Case": "error-flag-unbuffered"})
			checkObs(t, h, rid, "handle_response ctx=67 is_error="+tc.isError)
		})
	}
	t.Run("through a chain: an inner filter's failure and the gateway's page", func(t *testing.T) {
		inner := h.load(t, watFile(t, "edge"), nil)
		outer := h.load(t, goGuest(t, "./testdata/probe"), nil)
		chain := server(t, outer.Wrap(inner.Wrap(specApp()))).URL
		for _, tc := range []struct {
			path, trap, isError string
			status              int
		}{
			{"/ok", "", "0", 200},
			{"/ok", "1", "1", 500}, // the inner guest traps
			{"/host-error", "", "1", 502},
		} {
			hdr := map[string]string{"X-Case": "error-flag"}
			if tc.trap != "" {
				hdr["X-Unreachable"] = tc.trap
			}
			res, body, _ := do(t, "GET", chain+tc.path, "", hdr)
			if res.StatusCode != tc.status || res.Header.Get("X-Is-Error") != tc.isError {
				t.Errorf("%s trap=%q: got %d X-Is-Error %q: %q", tc.path, tc.trap, res.StatusCode, res.Header.Get("X-Is-Error"), body)
			}
		}
	})
}
