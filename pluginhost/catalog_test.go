package pluginhost

import (
	"strings"
	"testing"
)

func TestCheckEntry(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	builtins := []string{"header", "kcd", "vault"}
	for _, c := range []struct {
		name     string
		e        Entry
		builtins []string
		field    string
		msg      string
	}{
		{"built in", Entry{Name: "header", Builtin: true}, builtins, "", ""},
		{"executable", Entry{Name: "tenant-sig", Path: "bin/x", SHA256: strings.ToUpper(sum)}, builtins, "", ""},
		{"any built-in name when none are listed", Entry{Name: "oidc", Builtin: true}, nil, "", ""},
		{"no name", Entry{Builtin: true}, nil, "name", "missing: every plug-in needs a name"},
		{"bad name", Entry{Name: "Tenant_Sig", Path: "x", SHA256: sum}, nil, "name", `"Tenant_Sig" is not a valid plug-in name`},
		{"upper case name", Entry{Name: "SSO", Builtin: true}, nil, "name", `; write "sso"`},
		{"builtin with path", Entry{Name: "header", Builtin: true, Path: "x"}, nil, "builtin", "takes no path or sha256"},
		{"unknown built-in", Entry{Name: "oidc", Builtin: true}, builtins, "name", "gatehouse-connector has no built-in plug-in \"oidc\" (built in: header, kcd, vault)"},
		{"executable named like a built-in", Entry{Name: "kcd", Path: "x", SHA256: sum}, builtins, "name", `"kcd" is the name of a plug-in built into gatehouse-connector`},
		{"no path", Entry{Name: "x", SHA256: sum}, nil, "path", "or builtin: true for one built into gatehouse-connector"},
		{"short sha256", Entry{Name: "x", Path: "bin/x", SHA256: "abc"}, nil, "sha256", "(run: sha256sum bin/x)"},
		{"sha256 not hex", Entry{Name: "x", Path: "bin/x", SHA256: strings.Repeat("zz", 32)}, nil, "sha256", "64 hex digits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			field, msg := CheckEntry(c.e, "gatehouse-connector", c.builtins)
			if field != c.field || !strings.Contains(msg, c.msg) || (c.msg == "") != (msg == "") {
				t.Fatalf("CheckEntry = %q, %q; want %q, containing %q", field, msg, c.field, c.msg)
			}
		})
	}
}
