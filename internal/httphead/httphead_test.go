package httphead

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestMatchesHeaderWrite writes fields with WriteField, Value and
// ValidName and compares them with http.Header.Write.
func TestMatchesHeaderWrite(t *testing.T) {
	values := []string{"", "plain", " padded\t", "two\r\nlines", "\r\n", "tab\tinside", "trailing\n", " \t ", "ünïcode"}
	names := []string{"X-A", "Bad Name", "Colon:", "X_Under", "Tok!#$%&'*+-.^_`|~", "", "Ünï"}
	for _, k := range names {
		for _, v := range values {
			h := http.Header{k: {v}}
			var want, got bytes.Buffer
			if err := h.Write(&want); err != nil {
				t.Fatal(err)
			}
			bw := bufio.NewWriter(&got)
			if ValidName(k) {
				WriteField(bw, k, Value(v))
			}
			bw.Flush()
			if got.String() != want.String() {
				t.Errorf("%q: %q: got %q, Header.Write %q", k, v, got.String(), want.String())
			}
		}
	}
}

func TestPlainHostAndCTL(t *testing.T) {
	for h, want := range map[string]bool{
		"demo.example.com": true, "Demo.Example.com:8443": true, "[::1]:443": true, "10.0.0.1": true,
		"": false, "bücher.de": false, "a b": false, "[fe80::1%25en0]": false, "host/x": false,
	} {
		if PlainHost(h) != want {
			t.Errorf("PlainHost(%q) = %v", h, !want)
		}
	}
	if HasCTL("/a?b=c%20") || !HasCTL("/a\x00") || !HasCTL("/\x7f") || !HasCTL(strings.Repeat("x", 10)+"\n") {
		t.Error("HasCTL")
	}
}

func TestHostName(t *testing.T) {
	for in, want := range map[string]string{
		"Demo.Example.COM:8443": "demo.example.com",
		"demo.example.com.":     "demo.example.com",
		"demo.example.com":      "demo.example.com",
		"[::1]:8443":            "::1",
		"":                      "",
	} {
		if got := HostName(in); got != want {
			t.Errorf("HostName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasToken(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{[]string{"Upgrade"}, true},
		{[]string{"keep-alive, upgrade"}, true},
		{[]string{"keep-alive", " UPGRADE "}, true},
		{[]string{"keep-alive"}, false},
		{[]string{"upgrades"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := HasToken(tt.values, "upgrade"); got != tt.want {
			t.Errorf("HasToken(%q) = %v, want %v", tt.values, got, tt.want)
		}
	}
}
