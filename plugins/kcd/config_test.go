package kcd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/pluginhost"
	"github.com/gatehouse/gatehouse/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Every config an operator can get wrong is refused with a message that
// names the key and says what to do; testdata/config-errors.golden holds
// them all ($DIR is the test's directory).
func TestConfigErrors(t *testing.T) {
	kt, krb5 := offlineFiles(t)
	dir := filepath.Dir(kt)
	notKeytab := filepath.Join(dir, "notes.txt")
	os.WriteFile(notKeytab, []byte("not a keytab\n"), 0o600)
	corrupt := filepath.Join(dir, "corrupt.keytab")
	os.WriteFile(corrupt, []byte{5, 2, 0, 0, 0, 40, 0, 9, 0xff, 0xff, 0xff}, 0o600)
	good := func(kv ...any) map[string]any {
		cfg := map[string]any{"spn": "HTTP/intranet.example.test", "principal": "svc", "keytab": kt, "krb5_conf": krb5}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(cfg, kv[i].(string))
			} else {
				cfg[kv[i].(string)] = kv[i+1]
			}
		}
		return cfg
	}
	cases := []struct {
		name string
		cfg  map[string]any
	}{
		{"empty", nil},
		{"unknown key", good("spm", "HTTP/x")},
		{"no spn", good("spn", nil)},
		{"spn with a realm", good("spn", "HTTP/intranet.example.test@EXAMPLE.TEST")},
		{"spn without a host", good("spn", "intranet")},
		{"unknown identity", good("identity", "email")},
		{"claim without a name", good("identity", "claim:")},
		{"upn_domains without upn_user", good("upn_domains", []any{"example.test"})},
		{"bad upn domain", good("identity", "upn_user", "upn_domains", []any{"@example.test"})},
		{"no keytab", good("keytab", nil)},
		{"keytab missing", good("keytab", filepath.Join(dir, "missing.keytab"))},
		{"keytab is a directory", good("keytab", dir)},
		{"not a keytab", good("keytab", notKeytab)},
		{"corrupt keytab", good("keytab", corrupt)},
		{"keytab of another account", good("principal", "svc-other")},
		{"no principal", good("principal", nil)},
		{"principal in another realm", good("principal", "svc@OTHER.TEST", "realm", "EXAMPLE.TEST")},
		{"principal with an empty part", good("principal", "HTTP/")},
		{"krb5.conf missing", good("krb5_conf", filepath.Join(dir, "missing.conf"))},
		{"realm without KDC", good("realm", "OTHER.TEST")},
		{"kdc and krb5_conf", good("kdc", []any{"127.0.0.1:88"})},
		{"kdc without realm", good("krb5_conf", nil, "kdc", []any{"127.0.0.1:88"})},
		{"bad kdc address", good("krb5_conf", nil, "realm", "EXAMPLE.TEST", "kdc", []any{"kdc.example.test:88:88"})},
		{"kdc not a list", good("krb5_conf", nil, "realm", "EXAMPLE.TEST", "kdc", "kdc.example.test")},
		{"timeout too long", good("timeout", "1h")},
		{"timeout a number", good("timeout", 10)},
		{"cache_size zero", good("cache_size", 0)},
		{"several wrong types", good("spn", 1, "identity", true)},
	}
	var out strings.Builder
	for _, tc := range cases {
		raw, _ := json.Marshal(tc.cfg)
		_, err := newInjector(sdk.ConfigureRequest{App: "intranet", Config: raw}, nil)
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

func TestConfigAccepted(t *testing.T) {
	kt, krb5 := offlineFiles(t)
	for _, cfg := range []map[string]any{
		{"spn": "HTTP/intranet.example.test", "principal": "svc", "keytab": kt, "krb5_conf": krb5},
		{"spn": "HTTP/intranet.example.test:8443", "principal": "svc@EXAMPLE.TEST", "keytab": kt, "krb5_conf": krb5, "identity": "claim:samaccountname"},
		{"spn": "HTTP/intranet.example.test", "principal": "svc", "realm": "EXAMPLE.TEST", "keytab": kt,
			"kdc": []any{"127.0.0.1", "kdc2.example.test:750", "::1", "[::1]:88"}, "identity": "upn_user", "upn_domains": []any{"Example.Test", "corp.example"},
			"timeout": "3s", "cache_size": 50},
	} {
		raw, _ := json.Marshal(cfg)
		if _, err := newInjector(sdk.ConfigureRequest{App: "intranet", Config: raw}, nil); err != nil {
			t.Errorf("%v: %v", cfg, err)
		}
	}
}

// Over the real protocol, a keytab that does not exist is a config error
// that names the key, the path and what to do.
func TestMissingKeytabOverTheWire(t *testing.T) {
	_, krb5 := offlineFiles(t)
	missing := filepath.Join(t.TempDir(), "connector.keytab")
	_, err := open(t, map[string]any{"spn": "HTTP/intranet.example.test", "principal": "svc", "keytab": missing, "krb5_conf": krb5})
	var ce *pluginhost.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v (%T), want a *pluginhost.ConfigError", err, err)
	}
	want := "keytab: cannot read " + missing + ": no such file or directory; export the connector account's keytab there"
	if ce.App != "intranet" || !strings.HasPrefix(ce.Problem, want) {
		t.Errorf("got %q for app %q\nwant it to start with %q", ce.Problem, ce.App, want)
	}
}

// Inject refuses identities it cannot map, without asking the KDC (whose
// address here refuses connections: a call that reached it would fail
// differently).
func TestUnmappableIdentities(t *testing.T) {
	kt, krb5 := offlineFiles(t)
	for _, tc := range []struct {
		identity string
		domains  []any
		id       sdk.Identity
		want     string
	}{
		{"upn", nil, sdk.Identity{Subject: "s"}, `identity "s": UPN: empty`},
		{"upn", nil, sdk.Identity{Subject: "s", UPN: "alice"}, `"alice" is not a UPN`},
		{"upn", nil, sdk.Identity{Subject: "s", UPN: "a@b@c"}, `"a@b@c" is not a UPN`},
		{"upn", nil, sdk.Identity{Subject: "s", UPN: "krbtgt/EXAMPLE.TEST@example.test"}, "has a / or \\"},
		{"upn", nil, sdk.Identity{Subject: "s", UPN: "alice\r\n@example.test"}, "control character"},
		{"upn", nil, sdk.Identity{Subject: "s", UPN: "\xff@example.test"}, "not valid UTF-8"},
		{"upn", nil, sdk.Identity{Subject: "s", UPN: strings.Repeat("a", 2000) + "@x"}, "longer than 1024 bytes"},
		{"upn_user", nil, sdk.Identity{Subject: "s", UPN: "alice@evil.example"}, `UPN "alice@evil.example" is not in an accepted domain (upn_domains: example.test)`},
		{"upn_user", []any{"corp.example"}, sdk.Identity{Subject: "s", UPN: "alice@EXAMPLE.TEST"}, "not in an accepted domain (upn_domains: corp.example)"},
		{"claim:sam", nil, sdk.Identity{Subject: "s"}, `identity "s" has no text claim "sam"`},
		{"claim:sam", nil, sdk.Identity{Subject: "s", Claims: map[string]any{"sam": 42.0}}, `no text claim "sam"`},
		{"claim:sam", nil, sdk.Identity{Subject: "s", Claims: map[string]any{"sam": "CORP\\alice"}}, "has a / or \\"},
	} {
		cfg := map[string]any{"spn": "HTTP/intranet.example.test", "principal": "svc", "keytab": kt, "krb5_conf": krb5, "identity": tc.identity}
		if tc.domains != nil {
			cfg["upn_domains"] = tc.domains
		}
		raw, _ := json.Marshal(cfg)
		in, err := newInjector(sdk.ConfigureRequest{Config: raw}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = in.Inject(context.Background(), sdk.InjectRequest{Identity: tc.id})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: got %v, want %q", tc.identity, tc.id.UPN, err, tc.want)
		}
		if in.cache.len() != 0 {
			t.Errorf("%s %q: a ticket was cached", tc.identity, tc.id.UPN)
		}
	}
}

// The identity modes pick the name the KDC is asked about.
func TestIdentityMapping(t *testing.T) {
	id := sdk.Identity{Subject: "s", UPN: "Alice@Example.Test", Claims: map[string]any{"sam": "alice", "onprem_upn": "alice@corp.example"}}
	for _, tc := range []struct {
		identity   string
		name       string
		enterprise bool
	}{
		{"upn", "Alice@Example.Test", true},
		{"upn_user", "Alice", false},
		{"claim:sam", "alice", false},
		{"claim:onprem_upn", "alice@corp.example", true},
	} {
		m, err := newMapper(tc.identity, nil, "EXAMPLE.TEST")
		if err != nil {
			t.Fatal(err)
		}
		u, err := m.user(id)
		if err != nil || u.Name != tc.name || u.Enterprise != tc.enterprise {
			t.Errorf("%s: got %+v, %v; want %s (enterprise %v)", tc.identity, u, err, tc.name, tc.enterprise)
		}
	}
}
