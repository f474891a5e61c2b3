package oidc

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
	"golang.org/x/oauth2"
)

// claims decodes a token's claims as claimsOf does.
func claims(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIdentityFromClaims(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	exp := now.Add(time.Hour)
	defaults := config{Issuer: "https://idp.example", EmailClaim: "email", NameClaim: "name", GroupsClaim: "groups", AMRClaim: "amr", ACRClaim: "acr"}
	for _, tc := range []struct {
		name   string
		cfg    func(*config)
		claims string
		want   sdk.Identity
		err    string
	}{
		{name: "everything", claims: `{"sub":"u1","upn":"u1@CORP","preferred_username":"u1x","email":"u1@example.com","email_verified":true,
			"name":"U One","groups":["a","b"],"amr":["pwd","mfa"],"acr":"gold"}`,
			want: sdk.Identity{Subject: "u1", UPN: "u1@CORP", Email: "u1@example.com", Name: "U One", Groups: []string{"a", "b"},
				AMR: []string{"pwd", "mfa"}, Expiry: exp, Claims: map[string]any{"iss": "https://idp.example", "acr": "gold"}}},
		{name: "UPN falls back to preferred_username", claims: `{"sub":"u1","preferred_username":"u1x"}`,
			want: sdk.Identity{Subject: "u1", UPN: "u1x", Expiry: exp, Claims: map[string]any{"iss": "https://idp.example"}}},
		{name: "unverified e-mail is left out", claims: `{"sub":"u1","email":"ceo@example.com","email_verified":false}`,
			want: sdk.Identity{Subject: "u1", Expiry: exp, Claims: map[string]any{"iss": "https://idp.example"}}},
		{name: "groups: one string, numbers, and junk", claims: `{"sub":"u1","groups":["g",12345678901234567890,{"x":1},"",null],"amr":"pwd"}`,
			want: sdk.Identity{Subject: "u1", Groups: []string{"g", "12345678901234567890"}, AMR: []string{"pwd"}, Expiry: exp,
				Claims: map[string]any{"iss": "https://idp.example"}}},
		{name: "groups of the wrong type", claims: `{"sub":"u1","groups":{"a":true},"name":7}`,
			want: sdk.Identity{Subject: "u1", Expiry: exp, Claims: map[string]any{"iss": "https://idp.example"}}},
		{name: "configured claim names and lifetime", claims: `{"sub":"u1","roles":["r"],"mail":"m@example.com","email_verified":false,"dept":"HR"}`,
			cfg: func(c *config) {
				c.GroupsClaim, c.EmailClaim, c.UPNClaim, c.ExtraClaims, c.IdentityLifetime = "roles", "mail", "mail", []string{"dept", "absent"}, 8*time.Hour
			},
			want: sdk.Identity{Subject: "u1", UPN: "m@example.com", Email: "m@example.com", Groups: []string{"r"}, Expiry: now.Add(8 * time.Hour),
				Claims: map[string]any{"iss": "https://idp.example", "dept": "HR"}}},
		{name: "no subject", claims: `{"email":"x@example.com"}`, err: "no sub claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			a := &authenticator{cfg: cfg, now: func() time.Time { return now }}
			id, err := a.identity(claims(t, tc.claims), exp, cfg.IdentityLifetime)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error with %q", id, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(id, tc.want) {
				t.Errorf("identity\n got %+v\nwant %+v", id, tc.want)
			}
		})
	}
}

func TestWhoIsABrowser(t *testing.T) {
	for _, tc := range []struct {
		h    http.Header
		want bool
	}{
		{http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}}, true},
		{http.Header{"Accept": {"application/json", "TEXT/HTML"}}, true},
		{http.Header{"Accept": {"*/*"}}, false},
		{http.Header{}, false},
		{http.Header{"Accept": {"text/html"}, "X-Requested-With": {"XMLHttpRequest"}}, false},
	} {
		if got := wantsHTML(tc.h); got != tc.want {
			t.Errorf("wantsHTML(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestBearerTokenHeader(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc":    "abc",
		"bearer  abc ":  "abc",
		"BEARER a.b.c":  "a.b.c",
		"Bearer ":       "",
		"Basic YTpi":    "",
		"Bearerabc":     "",
		"":              "",
		"Negotiate abc": "",
	} {
		got, ok := bearerToken(http.Header{"Authorization": {in}})
		if got != want || ok != (want != "") {
			t.Errorf("bearerToken(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestAuthStyle(t *testing.T) {
	for _, tc := range []struct {
		confidential bool
		supported    []string
		want         oauth2.AuthStyle
	}{
		{false, []string{"client_secret_basic"}, oauth2.AuthStyleInParams},
		{true, nil, oauth2.AuthStyleInHeader},
		{true, []string{"client_secret_basic", "client_secret_post"}, oauth2.AuthStyleInHeader},
		{true, []string{"client_secret_post", "private_key_jwt"}, oauth2.AuthStyleInParams},
	} {
		if got := authStyle(tc.confidential, tc.supported); got != tc.want {
			t.Errorf("authStyle(%v, %v) = %v, want %v", tc.confidential, tc.supported, got, tc.want)
		}
	}
}

func TestClip(t *testing.T) {
	if got := clip("a\r\nb\x00c"); got != "a  b c" {
		t.Errorf("clip kept control characters: %q", got)
	}
	long := strings.Repeat("é", 150) // 300 bytes: the cut falls inside a rune or not, never invalid
	if got := clip(long); len(got) > 204 || !strings.HasSuffix(got, "…") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("clip(300 bytes) = %q (%d bytes)", got, len(got))
	}
}
