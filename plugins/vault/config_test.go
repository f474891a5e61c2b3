package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/pluginhost/pluginhosttest"
	"github.com/gatehouse/gatehouse/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Every config an operator can get wrong is refused with a message that
// names the key and says what to do; testdata/config-errors.golden holds
// them all ($DIR is the test's directory).
func TestConfigErrors(t *testing.T) {
	k := newKey(t)
	dir := filepath.Dir(k.file)
	notKey := filepath.Join(dir, "notes.txt")
	os.WriteFile(notKey, []byte("not a key\n"), 0o600)
	basic := func(kv ...any) map[string]any {
		return with(map[string]any{"mode": "basic", "key_file": k.file}, kv...)
	}
	form := func(kv ...any) map[string]any {
		f := with(map[string]any{"login_url": "http://app.internal/login"}, kv...)
		return map[string]any{"mode": "form", "key_file": k.file, "form": f}
	}
	cases := []struct {
		name string
		cfg  map[string]any
	}{
		{"empty", nil},
		{"unknown key", basic("keyfile", "x")},
		{"unknown mode", basic("mode", "digest")},
		{"no key_file", basic("key_file", nil)},
		{"key_file missing", basic("key_file", filepath.Join(dir, "missing.key"))},
		{"key_file is a directory", basic("key_file", dir)},
		{"key_file not a key", basic("key_file", notKey)},
		{"basic with a form block", basic("form", map[string]any{"login_url": "http://app.internal/login"})},
		{"basic without reject_status", basic("reject_status", 0)},
		{"reject_status out of range", basic("reject_status", 200)},
		{"form without a form block", basic("mode", "form")},
		{"form without login_url", form("login_url", nil)},
		{"login_url relative", form("login_url", "/login")},
		{"login_url not http", form("login_url", "ftp://app.internal/login")},
		{"login_url with a password", form("login_url", "http://admin:pw@app.internal/login")},
		{"login_url with a fragment", form("login_url", "http://app.internal/login#x")},
		{"login_url bad", form("login_url", "http://app internal/")},
		{"same fields", form("username_field", "login", "password_field", "login")},
		{"extra field is the password", form("fields", map[string]any{"password": "x"})},
		{"unknown form key", form("loginurl", "x")},
		{"success_status empty", form("success_status", []any{})},
		{"success_status out of range", form("success_status", []any{302, 500})},
		{"success_location with a query", form("success_location", "/home?x=1")},
		{"failure_location not a path", form("failure_location", "login.html")},
		{"session_ttl too long", form("session_ttl", "48h")},
		{"session_ttl a number", form("session_ttl", 600)},
		{"max_sessions negative", form("max_sessions", -1)},
		{"timeout too short", form("timeout", "10ms")},
		{"ca_file for http", form("ca_file", "/etc/ssl/ca.pem")},
		{"ca_file missing", form("login_url", "https://app.internal/login", "ca_file", filepath.Join(dir, "ca.pem"))},
		{"ca_file not PEM", form("login_url", "https://app.internal/login", "ca_file", notKey)},
		{"several wrong types", basic("mode", 1, "key_file", true)},
	}
	var out strings.Builder
	for _, tc := range cases {
		raw, _ := json.Marshal(tc.cfg)
		_, err := newInjector(sdk.ConfigureRequest{App: "hr", Config: raw}, nil)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		var fe *sdk.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v (%T) is not an *sdk.FieldError", tc.name, err, err)
		}
		fmt.Fprintf(&out, "%s:\n\t%s\n", tc.name, strings.ReplaceAll(strings.ReplaceAll(err.Error(), dir, "$DIR"), "\n", "\n\t"))
	}
	golden := filepath.Join("testdata", "config-errors.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if out.String() != string(want) {
		t.Errorf("config errors differ from %s (go test -update rewrites it):\n%s", golden, out.String())
	}
}

func with(cfg map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(cfg, kv[i].(string))
		} else {
			cfg[kv[i].(string)] = kv[i+1]
		}
	}
	return cfg
}

func TestConfigAccepted(t *testing.T) {
	k := newKey(t)
	for _, cfg := range []map[string]any{
		{"mode": "basic", "key_file": k.file},
		{"mode": "basic", "key_file": k.file, "reject_status": 403},
		{"mode": "form", "key_file": k.file, "form": map[string]any{"login_url": "http://app.internal/"}},
		{"mode": "form", "key_file": k.file, "reject_status": 440, "form": map[string]any{
			"login_url": "http://10.0.0.5:8080/j_security_check?x=1", "username_field": "j_username", "password_field": "j_password",
			"fields": map[string]any{"remember": "on"}, "success_status": []any{200, 302}, "success_location": "http://10.0.0.5:8080/app",
			"failure_location": "", "failure_body": "Login failed", "session_ttl": "30m", "max_sessions": 50, "timeout": "5s"}},
	} {
		raw, _ := json.Marshal(cfg)
		if _, err := newInjector(sdk.ConfigureRequest{App: "hr", Config: raw}, nil); err != nil {
			t.Errorf("%v: %v", cfg, err)
		}
	}
}

// The gateway checks a sign-on config with CheckOnly: the key file (and a
// CA file) are on the connector's host, so they are not read; the rest
// is checked.
func TestCheckOnly(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "vault.key")
	for _, tc := range []struct {
		cfg  map[string]any
		want string // "" for accepted
	}{
		{map[string]any{"mode": "basic", "key_file": missing}, ""},
		{map[string]any{"mode": "form", "key_file": missing, "form": map[string]any{"login_url": "https://app.internal/login", "ca_file": missing}}, ""},
		{map[string]any{"mode": "basic"}, "key_file: required"},
		{map[string]any{"mode": "form", "key_file": missing, "form": map[string]any{"login_url": "/login"}}, "form.login_url: "},
	} {
		raw, _ := json.Marshal(tc.cfg)
		in, err := newInjector(sdk.ConfigureRequest{App: "hr", Config: raw, CheckOnly: true}, nil)
		switch {
		case in != nil:
			t.Errorf("%v: a check built an injector", tc.cfg)
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
	// Over the wire, as the gateway does it.
	if _, err := pluginhosttest.Injector(t, pluginhost.Host{}, plugin, pluginhost.Use{App: "hr", CheckOnly: true,
		Config: map[string]any{"mode": "basic", "key_file": missing}}); err != nil {
		t.Errorf("a check-only open over the wire: %v", err)
	}
}

// A key file other users can read is used, with a warning.
func TestKeyFileModeWarning(t *testing.T) {
	k := newKey(t)
	for _, mode := range []os.FileMode{0o600, 0o640} {
		if err := os.Chmod(k.file, mode); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		raw, _ := json.Marshal(map[string]any{"mode": "basic", "key_file": k.file})
		if _, err := newInjector(sdk.ConfigureRequest{App: "hr", Config: raw, Log: slog.New(slog.NewTextHandler(&logs, nil))}, nil); err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(logs.String(), "chmod 600")
		if warned != (mode != 0o600) {
			t.Errorf("mode %v: warned %v\n%s", mode, warned, logs.String())
		}
	}
}

// Over the real protocol, a key file that does not exist is a config
// error that names the key, the path and what to do.
func TestMissingKeyFileOverTheWire(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "vault.key")
	_, err := open(t, map[string]any{"mode": "basic", "key_file": missing}, nil)
	var ce *pluginhost.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v (%T), want a *pluginhost.ConfigError", err, err)
	}
	want := "key_file: cannot read " + missing + ": no such file or directory; write it with gatehouse-connector vault-key"
	if ce.App != "hr" || ce.Plugin != "vault" || !strings.HasPrefix(ce.Problem, want) {
		t.Errorf("got %q for app %q\nwant it to start with %q", ce.Problem, ce.App, want)
	}
}
