package oidc_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/plugins/oidc"
	"github.com/gatehouse/gatehouse/sdk"
)

// configure builds an instance in process with cfg.
func configure(t *testing.T, cfg map[string]any) error {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = oidc.New(context.Background(), sdk.ConfigureRequest{App: app, Plugin: "oidc", Config: raw}, time.Now)
	return err
}

// Every config mistake is refused when the config is loaded, with the key
// and what to do.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	empty, notPEM, secret := filepath.Join(dir, "empty"), filepath.Join(dir, "not.pem"), filepath.Join(dir, "secret")
	for f, content := range map[string]string{empty: "", notPEM: "hello", secret: "s3cret\n"} {
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	down := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	ok := func(kv ...any) map[string]any {
		return with(map[string]any{"issuer": down, "client_id": "gateway"}, kv...)
	}
	for _, tc := range []struct {
		cfg  map[string]any
		want string // "" means accepted
	}{
		{ok(), ""},
		{ok("client_secret_file", secret, "ca_file", nil), ""},
		{ok("issuer", "http://localhost:1/realms/x"), ""},
		{ok("issuer", "https://login.example.com/realms/x", "ca_file", nil), ""},
		{map[string]any{}, "issuer: is required"},
		{ok("issuer", "http://login.example.com"), `issuer: "http://login.example.com" is plain http: use https`},
		{ok("issuer", "ldap://login.example.com"), "issuer: \"ldap://login.example.com\": the scheme must be https"},
		{ok("issuer", "https://login.example.com?tenant=1"), "is not an issuer URL"},
		{ok("issuer", "login.example.com"), "is not an issuer URL"},
		{ok("client_id", nil), "client_id: is required"},
		{ok("client_secret", "x", "client_secret_file", secret), "client_secret_file: set client_secret or client_secret_file, not both"},
		{ok("client_secret_file", filepath.Join(dir, "missing")), "client_secret_file: cannot read it"},
		{ok("client_secret_file", empty), "client_secret_file: " + empty + " is empty"},
		{ok("scopes", []any{"openid", "groups email"}), `scopes[1]: "groups email" is not a scope name`},
		{ok("scopes", "openid"), "scopes: expected a list"},
		{ok("acr_values", []any{""}), "acr_values[0]"},
		{ok("discovery_timeout", "1ms"), "discovery_timeout: must be between 100ms and 2m0s, got 1ms"},
		{ok("discovery_timeout", 10), `discovery_timeout: expected a duration like "60s"`},
		{ok("identity_lifetime", "10s"), "identity_lifetime: must be between 1m0s and 720h0m0s"},
		{ok("groups_claim", ""), "groups_claim: must name a claim"},
		{ok("extra_claims", []any{"dept", ""}), "extra_claims[1]: must name a claim"},
		{ok("bearer", map[string]any{}), "bearer.audience: is required"},
		{ok("bearer", map[string]any{"audience": "x", "aud": "y"}), "bearer.aud: unknown key (known keys: audience)"},
		{ok("ca_file", notPEM, "issuer", "https://login.example.com"), "ca_file: " + notPEM + " holds no PEM certificate"},
		{ok("ca_file", notPEM), "ca_file: the issuer is plain http"},
		{ok("issuer_url", "https://x"), "issuer_url: unknown key"},
	} {
		err := configure(t, tc.cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: refused: %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: got %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
}

// An issuer that the provider does not call itself is refused at load
// time, with the name to use.
func TestIssuerMismatchRefusedAtLoad(t *testing.T) {
	o := needOP(t)
	wrong := strings.Replace(o.Issuer, "127.0.0.1", "localhost", 1)
	err := configure(t, map[string]any{"issuer": wrong, "client_id": "gateway"})
	want := `issuer: the provider at "` + wrong + `" calls itself "` + o.Issuer + `"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
	if err := configure(t, map[string]any{"issuer": o.Issuer + "/", "client_id": "gateway"}); err == nil {
		t.Error("an issuer with a trailing slash the provider does not use was accepted")
	}
}
