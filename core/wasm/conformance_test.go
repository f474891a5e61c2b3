package wasm

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The ABI conformance tests: the probe guest (testdata/probe, raw ABI
// calls written from the specification) runs one case per request,
// picked by X-Case, and logs what it observed; the echo app shows what
// the host passed on.

func probeServer(t *testing.T, edit func(*Spec)) (*harness, string) {
	t.Helper()
	h := newHarness(t)
	f := h.load(t, goGuest(t, "./testdata/probe"), edit)
	return h, server(t, f.Wrap(echoApp())).URL
}

func TestGuestObservations(t *testing.T) {
	h, url := probeServer(t, func(s *Spec) { s.Config = []byte("init-features=6") })
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		want               []string
	}{
		{
			name: "buffer probe: the length always, the value only when it fits",
			// "/probe?q=1" is 10 bytes: with buf_limit 9 nothing is written.
			method: "GET", path: "/probe?q=1", header: map[string]string{"X-Case": "probe-uri"},
			want: []string{`len=10 short=10 untouched=true exact=10 value=/probe?q=1 after="#"`},
		},
		{
			name:   "method, URI (encoded), protocol and source address",
			method: "DELETE", path: "/a%20b/c?x=%2F", header: map[string]string{"X-Case": "request-line"},
			want: []string{"method=DELETE uri=/a%20b/c?x=%2F proto=HTTP/1.1 source=127.0.0.1:"},
		},
		{
			name: "config, and features enabled by the start function (trailers refused)", method: "GET", path: "/",
			header: map[string]string{"X-Case": "config"},
			want:   []string{`config="init-features=6" init=2`},
		},
		{
			name: "header names: lower-case, sorted, NUL-terminated, Host included", method: "GET", path: "/",
			header: map[string]string{"X-Case": "header-names", "X-B": "1", "x-a": "2"},
			want: []string{`count=7 raw="accept-encoding\x00host\x00user-agent\x00x-a\x00x-b\x00x-case\x00x-request-id\x00` +
				`"`},
		},
		{
			name: "header values: all values, case-insensitive names, missing is 0, Host, response kind", method: "GET", path: "/",
			header: map[string]string{"X-Case": "header-values", "X-Multi": "a=b"},
			want:   []string{`multi=1:"a=b\x00" folded=1:"a=b\x00" missing=0:"" host=1:"127.0.0.1:PORT\x00" response=0:""`},
		},
		{
			name: "trailers are reported empty", method: "GET", path: "/", header: map[string]string{"X-Case": "trailers"},
			want: []string{`names=0:"" values=0:""`},
		},
		{
			name: "enable_features returns every enabled feature, never trailers", method: "GET", path: "/",
			header: map[string]string{"X-Case": "features"},
			want:   []string{"before=2 after=3"},
		},
		{
			name: "log_enabled follows the logger; level 3 is none", method: "GET", path: "/",
			header: map[string]string{"X-Case": "log-enabled"},
			want:   []string{"debug=1 info=1 error=1 none=0"},
		},
		{
			name: "read_body with buffer_request: chunks, EOF flag on the last", method: "POST", path: "/",
			header: map[string]string{"X-Case": "read-request-buffered"},
			want:   []string{`body="0123456789" eofs=---E`, "handle_response ctx=0 is_error=0"},
		},
		{
			name: "read_body without buffering consumes the stream", method: "POST", path: "/",
			header: map[string]string{"X-Case": "read-request-stream"},
			want:   []string{`first="0123" eof=0`, "handle_response ctx=0 is_error=0"},
		},
		{
			name: "after next the request body is gone and the request still readable", method: "POST", path: "/",
			header: map[string]string{"X-Case": "request-after-next"},
			want:   []string{"handle_response ctx=45 is_error=0", "method=POST request-body-eofs=E"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = "0123456789"
			}
			res, _, rid := do(t, tc.method, url+tc.path, body, tc.header)
			if res.StatusCode >= 500 {
				t.Fatalf("status %d", res.StatusCode)
			}
			got := h.logs.observations(rid)
			want := slices.Clone(tc.want)
			for i := range want {
				want[i] = strings.ReplaceAll(want[i], "PORT", strings.TrimPrefix(url, "http://127.0.0.1:"))
			}
			if len(got) != len(want) {
				t.Fatalf("observed %q, want %q", got, want)
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Errorf("observation %d = %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
	t.Run("log writes at the guest's level with the request id; level none is dropped", func(t *testing.T) {
		_, _, rid := do(t, "GET", url+"/", "", map[string]string{"X-Case": "log-enabled"})
		errs := h.logs.find(map[string]string{"request_id": rid, "level": "ERROR", "guest": "true"})
		if len(errs) != 1 || errs[0]["msg"] != "an error from the guest" || errs[0]["filter"] != "test" || errs[0]["app"] != "demo" {
			t.Errorf("guest error records = %v", errs)
		}
		if n := h.logs.find(map[string]string{"msg": "never logged"}); len(n) != 0 {
			t.Errorf("level none was logged: %v", n)
		}
	})
}

func TestRequestChanges(t *testing.T) {
	_, url := probeServer(t, nil)
	t.Run("headers, Host, method and URI reach the next handler", func(t *testing.T) {
		res, body, _ := do(t, "GET", url+"/orig?x=1", "", map[string]string{"X-Case": "set-request", "X-Remove": "gone", "X-Add": "0"})
		if res.StatusCode != 200 {
			t.Fatalf("status %d: %s", res.StatusCode, body)
		}
		s := decodeSeen(t, body)
		if s.Method != "PUT" || s.URI != "/rewritten/a%2Fb?q=1" || s.Host != "rewritten.example" {
			t.Errorf("the app got %s %s for host %s", s.Method, s.URI, s.Host)
		}
		if got := s.Header.Values("X-Add"); !slices.Equal(got, []string{"0", "1", "2"}) {
			t.Errorf("X-Add = %q, want the client's value and two added", got)
		}
		if s.Header.Get("X-Set") != "v" || s.Header.Get("X-Remove") != "" {
			t.Errorf("X-Set = %q, X-Remove = %q", s.Header.Get("X-Set"), s.Header.Get("X-Remove"))
		}
	})
	t.Run("write_body: the first write replaces the body, the next appends", func(t *testing.T) {
		_, body, _ := do(t, "POST", url+"/", "the client's body", map[string]string{"X-Case": "write-request-body"})
		s := decodeSeen(t, body)
		if s.Body != "hello world" || s.ContentLength != 11 {
			t.Errorf("the app got %q (length %d)", s.Body, s.ContentLength)
		}
	})
	t.Run("buffer_request: the next handler still gets the whole body", func(t *testing.T) {
		_, body, _ := do(t, "POST", url+"/", "0123456789", map[string]string{"X-Case": "read-request-buffered"})
		if s := decodeSeen(t, body); s.Body != "0123456789" {
			t.Errorf("the app got %q", s.Body)
		}
	})
	t.Run("without buffering the next handler gets what the guest left", func(t *testing.T) {
		_, body, _ := do(t, "POST", url+"/", "0123456789", map[string]string{"X-Case": "read-request-stream"})
		if s := decodeSeen(t, body); s.Body != "456789" {
			t.Errorf("the app got %q", s.Body)
		}
	})
}

func TestResponses(t *testing.T) {
	h, url := probeServer(t, nil)
	t.Run("the guest answers: status, header, body written in two parts", func(t *testing.T) {
		res, body, rid := do(t, "GET", url+"/", "", map[string]string{"X-Case": "answer"})
		if res.StatusCode != 418 || body != "short and stout" || res.Header.Get("Content-Type") != "text/plain" || res.Header.Get("X-App") != "" {
			t.Errorf("got %d %q %v", res.StatusCode, body, res.Header)
		}
		if obs := h.logs.observations(rid); !slices.Equal(obs, []string{"status=418"}) {
			t.Errorf("observed %q", obs)
		}
	})
	t.Run("next=0 without an answer is an empty 200", func(t *testing.T) {
		res, body, _ := do(t, "GET", url+"/", "", map[string]string{"X-Case": "default-answer"})
		if res.StatusCode != 200 || body != "" {
			t.Errorf("got %d %q", res.StatusCode, body)
		}
	})
	t.Run("response headers set in handle_request win over the app's", func(t *testing.T) {
		res, _, _ := do(t, "GET", url+"/", "", map[string]string{"X-Case": "response-replay"})
		if got := res.Header.Values("X-Frame-Options"); !slices.Equal(got, []string{"DENY"}) {
			t.Errorf("X-Frame-Options = %q", got)
		}
		if res.Header.Get("Server") != "" || res.Header.Get("X-Added") != "guest" || res.Header.Get("X-App") != "echo" {
			t.Errorf("header %v", res.Header)
		}
	})
	t.Run("buffer_response: handle_response reads and rewrites status, header and body", func(t *testing.T) {
		res, body, rid := do(t, "GET", url+"/hi", "", map[string]string{"X-Case": "buffered-response"})
		if res.StatusCode != 201 || res.Header.Get("X-After") != "yes" || !strings.Contains(body, `"URI":"/HI"`) {
			t.Errorf("got %d %v %q", res.StatusCode, res.Header, body)
		}
		if res.ContentLength != int64(len(body)) {
			t.Errorf("Content-Length %d for a %d-byte body", res.ContentLength, len(body))
		}
		obs := h.logs.observations(rid)
		if len(obs) != 3 || obs[0] != "handle_response ctx=42 is_error=0" ||
			!strings.HasPrefix(obs[1], `status=200 app="echo\x00" body="{`) || !strings.HasSuffix(obs[1], "E") || obs[2] != "status-after=201" {
			t.Errorf("observed %q", obs)
		}
	})
	t.Run("buffer_response without changes passes the app's answer", func(t *testing.T) {
		res, body, _ := do(t, "GET", url+"/same", "", map[string]string{"X-Case": "buffered-untouched"})
		if res.StatusCode != 200 || decodeSeen(t, body).URI != "/same" || res.Header.Get("X-App") != "echo" {
			t.Errorf("got %d %v %q", res.StatusCode, res.Header, body)
		}
	})
	t.Run("without buffer_response the guest sees the status and headers sent, no body", func(t *testing.T) {
		res, _, rid := do(t, "GET", url+"/", "", map[string]string{"X-Case": "unbuffered-response"})
		if res.StatusCode != 200 {
			t.Errorf("status %d", res.StatusCode)
		}
		obs := h.logs.observations(rid)
		if !slices.Equal(obs, []string{"handle_response ctx=44 is_error=0", `status=200 app="echo\x00" read=0 eof=1`}) {
			t.Errorf("observed %q", obs)
		}
	})
	t.Run("handle_response learns that the next handler failed", func(t *testing.T) {
		f := h.load(t, goGuest(t, "./testdata/probe"), nil)
		boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
		srv := server(t, f.Wrap(boom))
		req, _ := http.NewRequest("GET", srv.URL, nil)
		rid := newRID()
		req.Header.Set("X-Request-Id", rid)
		req.Header.Set("X-Case", "buffered-untouched")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Errorf("the client got %d; the aborted response must stay aborted", res.StatusCode)
		}
		if obs := h.logs.observations(rid); !slices.Equal(obs, []string{"handle_response ctx=43 is_error=1"}) {
			t.Errorf("observed %q", obs)
		}
	})
}
