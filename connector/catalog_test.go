package connector

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/tunnel"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "tenant-sig", "#!/bin/sh\n")
	sum := strings.ToUpper(sumOf([]byte("#!/bin/sh\n")))
	cfg := writeFile(t, dir, "connector.yaml", "plugins:\n  - name: tenant-sig\n    path: tenant-sig\n    sha256: "+sum+"\n  - {name: header, builtin: true}\n")
	c, err := LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, missing := c.Catalog.lookup("tenant-sig")
	if missing != "" || e.Path != bin || e.SHA256 != strings.ToLower(sum) || e.Builtin {
		t.Fatalf("tenant-sig = %+v %q; want the file next to the config, lower-case sum", e, missing)
	}
	if got := c.Catalog.info(); len(got) != 4 || got[0] != (tunnel.PluginInfo{Name: "header", Builtin: true}) ||
		got[3] != (tunnel.PluginInfo{Name: "tenant-sig", SHA256: strings.ToLower(sum)}) {
		t.Fatalf("info = %+v; want the three built-ins, then tenant-sig with its sum and no path", got)
	}
	if errs := c.Catalog.check(); len(errs) != 0 {
		t.Fatalf("check = %v", errs)
	}
	if err := os.WriteFile(bin, []byte("replaced"), 0o700); err != nil {
		t.Fatal(err)
	}
	if errs := c.Catalog.check(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "it will not be started") {
		t.Fatalf("check after the binary changed = %v", errs)
	}
	_, missing = c.Catalog.lookup("nosuch")
	if !strings.Contains(missing, `plug-in "nosuch" is not in this connector's catalog (its --config `+cfg+" has no such entry; it has header, kcd, vault, tenant-sig)") {
		t.Fatalf("lookup of an unknown name: %s", missing)
	}
	_, missing = NewCatalog().lookup("tenant-sig")
	if !strings.Contains(missing, "it runs no --config file") {
		t.Fatalf("lookup without a config: %s", missing)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	sum := strings.Repeat("0", 64)
	for _, c := range []struct{ name, text, want string }{
		{"unknown top key", "plugins: []\nlisten: x\n", `:2:1: listen: unknown key "listen" (known keys: plugins)`},
		{"not a mapping", "- a\n", ":1:1: (top level): expected a mapping with plugins:, got a list"},
		{"plugins not a list", "plugins: {name: x}\n", ":1:10: plugins: expected a list of plug-ins"},
		{"entry not a mapping", "plugins: [x]\n", `:1:11: plugins[0]: expected a mapping {name, path, sha256} or {name, builtin: true}, got "x"`},
		{"unknown entry key", "plugins:\n  - {name: x, path: p, sha256: " + sum + ", args: [1]}\n", `:2:98: plugins[0].args: unknown key "args" (known keys: name, builtin, path, sha256)`},
		{"wrong type", "plugins:\n  - {name: x, builtin: maybe}\n", `:2:24: plugins[0].builtin: expected true or false, got "maybe"`},
		{"bad sha256", "plugins:\n  - name: x\n    path: bin/x\n    sha256: abc\n", ":4:13: plugins[0].sha256: want the 64 hex digits of the executable's SHA-256 (run: sha256sum bin/x)"},
		{"no path", "plugins:\n  - {name: x, sha256: " + sum + "}\n", ":2:5: plugins[0].path: missing: the plug-in executable (or builtin: true for one built into gatehouse-connector)"},
		{"not a built-in", "plugins:\n  - {name: oidc, builtin: true}\n", `:2:12: plugins[0].name: gatehouse-connector has no built-in plug-in "oidc" (built in: header, kcd, vault)`},
		{"shadows a built-in", "plugins:\n  - {name: vault, path: x, sha256: " + sum + "}\n", `:2:12: plugins[0].name: "vault" is the name of a plug-in built into gatehouse-connector; give this executable another name`},
		{"duplicate", "plugins:\n  - {name: x, path: a, sha256: " + sum + "}\n  - {name: x, path: b, sha256: " + sum + "}\n", `:3:12: plugins[1].name: duplicate plug-in "x"`},
		{"not YAML", "plugins: [\n", "did not find expected node content"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, "c.yaml", c.text)
			_, err := LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path) {
				t.Fatalf("LoadConfig = %v; want %s%s", err, path, c.want)
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(dir, "absent.yaml")); err == nil || !strings.Contains(err.Error(), "reading the connector config") {
		t.Fatalf("LoadConfig of a missing file = %v", err)
	}
	path := writeFile(t, dir, "two.yaml", "plugins:\n  - {name: a}\n  - {name: B, builtin: true}\n")
	if _, err := LoadConfig(path); err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Fatalf("LoadConfig with two mistakes = %v; want both, one per line", err)
	}
	if c, err := LoadConfig(writeFile(t, dir, "empty.yaml", "")); err != nil || len(c.Catalog.info()) != 3 {
		t.Fatalf("an empty file = %v, %v; want the built-ins", c, err)
	}
}

// An app whose sign-on plug-in is not in the catalog, or whose binary is
// not the pinned one, is refused: reported with the app, the plug-in and
// the field, and its requests fail closed. Nothing is started.
func TestStartSignOnRefusals(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "tenant-sig", "#!/bin/sh\nexit 1\n")
	cat := NewCatalog()
	cat.add(pluginhost.Entry{Name: "tenant-sig", Path: bin, SHA256: strings.Repeat("0", 64)})
	conn := &Connector{transports: transports{catalog: cat, log: slog.New(slog.DiscardHandler)}}
	tr := &conn.transports
	appCfg := func(plugin string) tunnel.AppConfig {
		return tunnel.AppConfig{Name: "crm", URL: "http://127.0.0.1:1", Identity: true,
			SignOn: &tunnel.SignOn{Plugin: plugin, Config: map[string]any{"key": "s3cret-inline-key-value"}}}
	}
	for _, c := range []struct{ plugin, field, msg string }{
		{"nosuch", "sign_on.plugin", `plug-in "nosuch" is not in this connector's catalog`},
		{"tenant-sig", "sign_on.plugin", "plug-in binary checksum mismatch: " + bin + " has sha256 " + sumOf([]byte("#!/bin/sh\nexit 1\n"))},
	} {
		so := tr.startSignOn(appCfg(c.plugin))
		if so.refusal == nil || so.inj != nil || so.err == nil {
			t.Fatalf("%s: %+v; want a refusal", c.plugin, so)
		}
		if r := *so.refusal; r.App != "crm" || r.Plugin != c.plugin || r.Field != c.field || !strings.Contains(r.Message, c.msg) {
			t.Fatalf("%s: refusal %+v; want field %s, %q", c.plugin, r, c.field, c.msg)
		}
		table := &appTable{apps: map[string]*app{"crm": {cfg: appCfg(c.plugin), signOn: so}, "wiki": {cfg: tunnel.AppConfig{Name: "wiki"}}}}
		rep := conn.signOnReport(table)
		if len(rep.Accepted) != 0 || len(rep.Refused) != 1 || rep.Refused[0] != *so.refusal || len(rep.Plugins) != 4 {
			t.Fatalf("%s: report %+v", c.plugin, rep)
		}
	}
}

func TestRefusalOf(t *testing.T) {
	for _, c := range []struct {
		err        error
		field, msg string
	}{
		{&pluginhost.ConfigError{App: "a", Plugin: "p", Problem: "key_file: required: a file"}, "sign_on.config.key_file", "required: a file"},
		{&pluginhost.ConfigError{Problem: "keys[2].subject: is required\ntenant: required"}, "sign_on.config.keys[2].subject", "is required; tenant: required"},
		{&pluginhost.ConfigError{Problem: "not valid JSON: unexpected end"}, "sign_on.config", "not valid JSON: unexpected end"},
		{pluginhost.ErrIncompatible, "sign_on.plugin", "the plug-in did not start: plug-in protocol version not supported"},
	} {
		field, msg := refusalOf(c.err)
		if field != c.field || msg != c.msg {
			t.Errorf("refusalOf(%v) = %q, %q; want %q, %q", c.err, field, msg, c.field, c.msg)
		}
	}
}

func TestRedact(t *testing.T) {
	cfg := map[string]any{"tenant": "acme", "key": "0123456789abcdef", "nested": []any{map[string]any{"password": "hunter2hunter2"}},
		"key_file": "/etc/gatehouse/k.key", "ttl": 60}
	got := redact(`key: "0123456789abcdef" too short; password hunter2hunter2 refused; reading /etc/gatehouse/k.key; tenant acme`, cfg)
	want := `key: "[redacted]" too short; password [redacted] refused; reading /etc/gatehouse/k.key; tenant acme`
	if got != want {
		t.Fatalf("redact =\n%s\nwant\n%s", got, want)
	}
}
