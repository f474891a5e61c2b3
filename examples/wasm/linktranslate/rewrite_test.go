package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

func testLinks(t *testing.T) []mapping {
	t.Helper()
	ms, err := parseLinks([]Link{
		{Internal: "http://wiki.corp.local", External: "https://wiki.example.com"},
		{Internal: "http://hr.corp.local:8080/hr/", External: "https://hr.example.com/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestRewrite(t *testing.T) {
	r := newRewriter(testLinks(t))
	for _, tc := range []struct{ in, want string }{
		{`<a href="http://hr.corp.local:8080/hr/page?x=1">`, `<a href="https://hr.example.com/page?x=1">`},
		{`http://hr.corp.local:8080/hr`, `https://hr.example.com`},
		{`http://wiki.corp.local/x and http://wiki.corp.local:80/y`, `https://wiki.example.com/x and https://wiki.example.com/y`},
		{`url(http://wiki.corp.local/a.png)`, `url(https://wiki.example.com/a.png)`},
		{`src="//wiki.corp.local/app.js"`, `src="//wiki.example.com/app.js"`},
		{`{"self":"http:\/\/hr.corp.local:8080\/hr\/api"}`, `{"self":"https:\/\/hr.example.com\/api"}`},
		{`fetch("http:\u002F\u002Fwiki.corp.local\u002Fapi")`, `fetch("https:\u002F\u002Fwiki.example.com\u002Fapi")`},
		{`/login?redirect_uri=http%3A%2F%2Fhr.corp.local%3A8080%2Fhr%2Fcb`, `/login?redirect_uri=https%3A%2F%2Fhr.example.com%2Fcb`},
		{`/login?next=http%3a%2f%2fwiki.corp.local%2fx`, `/login?next=https%3A%2F%2Fwiki.example.com%2fx`},
		// Left alone: not the same origin, or not under the base path.
		{`http://hr.corp.local:8080/hrx`, `http://hr.corp.local:8080/hrx`},
		{`http://hr.corp.local:8080/other`, `http://hr.corp.local:8080/other`},
		{`http://hr.corp.local/hr/`, `http://hr.corp.local/hr/`},
		{`http://wiki.corp.local:81/`, `http://wiki.corp.local:81/`},
		{`http://wiki.corp.local.evil.example/`, `http://wiki.corp.local.evil.example/`},
		{`https://wiki.corp.local/`, `https://wiki.corp.local/`},
		{`ftp://wiki.corp.local/`, `ftp://wiki.corp.local/`},
		{`xhttp://wiki.corp.local/`, `xhttp://wiki.corp.local/`},
		{`wiki.corp.local`, `wiki.corp.local`},
	} {
		if got := r.String(tc.in); got != tc.want {
			t.Errorf("rewrite(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	back := newRewriter(reversed(testLinks(t)))
	if got := back.String("https://hr.example.com/page"); got != "http://hr.corp.local:8080/hr/page" {
		t.Errorf("reverse: %s", got)
	}
}

func TestParseLinksRefuses(t *testing.T) {
	_, err := parseLinks([]Link{{Internal: "ftp://x", External: "https://ok.example"}, {Internal: "http://a", External: "/relative"}})
	want := "links[0].internal: \"ftp://x\" is not an http(s) base URL like https://app.example.com/path\n" +
		"links[1].external: \"/relative\" is not an http(s) base URL like https://app.example.com/path"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if _, err := parseLinks(nil); err == nil {
		t.Error("no links accepted")
	}
}

func TestHeaders(t *testing.T) {
	ms := testLinks(t)
	h := http.Header{}
	h.Set("Location", "http://hr.corp.local:8080/hr/next")
	h.Set("Refresh", "5; url=http://wiki.corp.local/x")
	h.Set("Content-Type", "text/html")
	if !translateHeaders(h, urlHeaders, newRewriter(ms)) {
		t.Fatal("nothing changed")
	}
	if h.Get("Location") != "https://hr.example.com/next" || h.Get("Refresh") != "5; url=https://wiki.example.com/x" {
		t.Errorf("headers %v", h)
	}
	req := http.Header{"Origin": {"https://hr.example.com"}}
	translateOrigin(req, ms)
	if req.Get("Origin") != "http://hr.corp.local:8080" {
		t.Errorf("Origin %q", req.Get("Origin"))
	}
	own := &ms[ownMapping(ms, "hr.example.com:443")]
	for _, tc := range []struct{ in, want string }{
		{"sid=1; Domain=hr.corp.local; Path=/hr/app; HttpOnly", "sid=1; Domain=hr.example.com; Path=/app; HttpOnly"},
		{"sid=1; domain=.corp.local; path=/hr", "sid=1; Path=/"},
		{"sid=1; Path=/other; Secure", "sid=1; Path=/other; Secure"},
	} {
		if got := translateCookie(tc.in, ms, own); got != tc.want {
			t.Errorf("cookie %q → %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBody(t *testing.T) {
	r := newRewriter(testLinks(t))
	const html = `<a href="http://wiki.corp.local/x">`
	const want = `<a href="https://wiki.example.com/x">`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(html))
	zw.Close()
	utf16le := func(s string) []byte {
		b := []byte{0xFF, 0xFE}
		for _, u := range utf16.Encode([]rune(s)) {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		return b
	}
	for _, tc := range []struct {
		name, ct, ce string
		body         []byte
		want         string
		reason       string
	}{
		{"utf-8 html", "text/html; charset=utf-8", "", []byte(html), want, ""},
		{"gzip is undone", "text/html", "gzip", gz.Bytes(), want, ""},
		{"utf-16 with a byte order mark", "application/json", "", utf16le(html), string(utf16le(want)), ""},
		{"meta charset", "text/html", "", []byte(`<meta charset="Shift_JIS">` + html), "", `charset "shift_jis"`},
		{"charset parameter", "text/css; charset=ISO-2022-JP", "", []byte(html), "", `charset "iso-2022-jp"`},
		{"brotli", "text/html", "br", []byte(html), "", `content-encoding "br" cannot be decoded here`},
		{"corrupt gzip", "text/html", "gzip", []byte("nope"), "", "the gzip body is corrupt"},
		{"nothing to change", "text/html", "gzip", func() []byte {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write([]byte("<p>no links</p>"))
			w.Close()
			return b.Bytes()
		}(), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, reason := translateBody(tc.ct, tc.ce, tc.body, 1<<20, r)
			if !strings.Contains(reason, tc.reason) || (tc.reason == "") != (reason == "") {
				t.Errorf("reason %q, want %q", reason, tc.reason)
			}
			if changed != (tc.want != "") || changed && string(out) != tc.want {
				t.Errorf("changed=%v %q, want %q", changed, out, tc.want)
			}
		})
	}
	if !translatable("application/vnd.api+json", nil) || translatable("image/png", nil) || !translatable("text/x-custom", []string{"text/x-custom"}) {
		t.Error("translatable is wrong")
	}
	if got := weakETag(`"abc"`); got != `W/"abc"` {
		t.Errorf("weakETag = %s", got)
	}
	if !slices.Contains(urlHeaders, "Content-Security-Policy") {
		t.Error("CSP is not translated")
	}
}
