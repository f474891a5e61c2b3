package sdk_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
)

func TestAuthResultValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  sdk.AuthResult
		err  string
	}{
		{"authenticated", sdk.Authenticated(sdk.Identity{Subject: "a"}), ""},
		{"no subject", sdk.Authenticated(sdk.Identity{Email: "a@b"}), "needs Identity.Subject"},
		{"redirect", sdk.Redirect("https://idp/", []byte("s")), ""},
		{"redirect without location", sdk.Redirect("", nil), "needs a Location"},
		{"redirect with CRLF", sdk.Redirect("https://idp/\r\nSet-Cookie: x", nil), "control byte"},
		{"state too big", sdk.Redirect("/x", make([]byte, sdk.MaxStateSize+1)), "more than the 2048"},
		{"challenge", sdk.Challenge(401, http.Header{"Www-Authenticate": {"ApiKey"}}, nil), ""},
		{"challenge status", sdk.Challenge(0, nil, nil), "between 200 and 599"},
		{"challenge bad header", sdk.Challenge(401, http.Header{"Bad Name": {"x"}}, nil), "is not allowed"},
		{"not mine", sdk.NotMine(), ""},
		{"zero", sdk.AuthResult{}, "empty result"},
		{"unknown", sdk.AuthResult{Outcome: "maybe"}, `unknown outcome "maybe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.res.Validate()
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Validate() = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestInjectResult(t *testing.T) {
	h := http.Header{"X-User": {"spoofed", "twice"}, "X-Other": {"kept"}, "X-Groups": {"old"}}
	r := sdk.InjectResult{Remove: []string{"x-user", "X-Groups"}, Set: http.Header{"X-User": {"alice"}}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	r.Apply(h)
	want := http.Header{"X-User": {"alice"}, "X-Other": {"kept"}}
	if len(h) != len(want) || h.Get("X-User") != "alice" || len(h["X-User"]) != 1 || h.Get("X-Other") != "kept" {
		t.Fatalf("got %v, want %v", h, want)
	}
	bad := sdk.InjectResult{Set: http.Header{"X-User": {"alice\r\nX-Admin: 1"}}}
	if err := bad.Validate(); err == nil {
		t.Fatal("a value with CRLF passed Validate")
	}
}
