package policy

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/sdk"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	alice := sdk.Identity{Subject: "alice", UPN: "alice@CORP", Groups: []string{"staff", "hr"}, AMR: []string{"pwd", "otp", "mfa"}}
	bob := sdk.Identity{Subject: "bob", Groups: []string{"staff"}, AMR: []string{"pwd"}}
	in := func(id sdk.Identity, ip, path string) Input {
		return Input{Identity: id, SignedIn: now.Add(-time.Hour), ClientIP: netip.MustParseAddr(ip), Method: "GET", Host: "hr.example.com", Path: path, Now: now}
	}
	pfx := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	tests := []struct {
		name   string
		access config.Access
		in     Input
		allow  bool
		rule   string
	}{
		{"empty policy admits", config.Access{}, in(bob, "192.0.2.1", "/"), true, "default"},
		{"assigned group", config.Access{Groups: []string{"hr"}}, in(alice, "192.0.2.1", "/"), true, "default"},
		{"wrong group", config.Access{Groups: []string{"hr"}}, in(bob, "192.0.2.1", "/"), false, "access.groups"},
		{"assigned user by UPN, any case", config.Access{Users: []string{"ALICE@corp"}}, in(alice, "192.0.2.1", "/"), true, "default"},
		{"mfa present", config.Access{RequireMFA: true}, in(alice, "192.0.2.1", "/"), true, "default"},
		{"mfa missing", config.Access{RequireMFA: true}, in(bob, "192.0.2.1", "/"), false, "access.require_mfa"},
		{"method missing", config.Access{RequireAMR: []string{"hwk"}}, in(alice, "192.0.2.1", "/"), false, "access.require_amr"},
		{"blocked range", config.Access{BlockPrefixes: pfx("192.0.2.0/24")}, in(alice, "192.0.2.9", "/"), false, "access.block_ips"},
		{"blocked beats allowed", config.Access{AllowPrefixes: pfx("192.0.2.0/24"), BlockPrefixes: pfx("192.0.2.9/32")}, in(alice, "192.0.2.9", "/"), false, "access.block_ips"},
		{"outside allowed ranges", config.Access{AllowPrefixes: pfx("10.0.0.0/8")}, in(alice, "192.0.2.9", "/"), false, "access.allow_ips"},
		{"IPv4-mapped IPv6 client", config.Access{AllowPrefixes: pfx("10.0.0.0/8")}, in(alice, "::ffff:10.1.2.3", "/"), true, "default"},
		{"sign-in too old", config.Access{MaxSessionAge: config.Duration(30 * time.Minute)}, in(alice, "192.0.2.1", "/"), false, "access.max_session_age"},
		{"rule true", config.Access{Rule: `request.path.startsWith("/admin") ? "hr" in user.groups : true`}, in(alice, "192.0.2.1", "/admin/x"), true, "access.rule"},
		{"rule false", config.Access{Rule: `request.path.startsWith("/admin") ? "hr" in user.groups : true`}, in(bob, "192.0.2.1", "/admin/x"), false, "access.rule"},
		{"rule on client and claims", config.Access{Rule: `client.ip.startsWith("192.0.2.") && !has(user.claims.contractor)`}, in(alice, "192.0.2.1", "/"), true, "access.rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.access)
			if err != nil {
				t.Fatal(err)
			}
			d := p.Decide(tt.in)
			if d.Allow != tt.allow || d.Rule != tt.rule || d.Reason == "" {
				t.Fatalf("Decide = %+v, want allow=%v rule=%s", d, tt.allow, tt.rule)
			}
		})
	}
}

func TestCompileRefusesBadRules(t *testing.T) {
	for rule, want := range map[string]string{
		`user.groups.size(`: "Syntax error",
		`"a string"`:        "must be true or false",
		`nosuch.thing == 1`: "undeclared reference",
	} {
		if _, err := Compile(config.Access{Rule: rule}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%q) = %v, want an error with %q", rule, err, want)
		}
	}
}
