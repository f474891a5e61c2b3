package portal

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/reserved"
	"github.com/gatehouse/gatehouse/sdk"
)

func compile(t *testing.T, a config.Access) *policy.Policy {
	t.Helper()
	p, err := policy.Compile(a)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The list holds what each app's policy admits for the user: an app it
// refuses is left out, one that wants MFA the user lacks is marked, and
// an app with another sign-in gets a plain link. An app that signs in
// through the portal is linked to its own host's sign-in start (which
// binds the handoff to the browser), with its SAML launch path, if any,
// as the return.
func TestListFollowsEachAppsPolicy(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	p := &Page{Title: "My Apps", Now: func() time.Time { return now }, Apps: []App{
		{Name: "eng", Title: "Engineering wiki", Host: "eng.example.com", Prefix: "/", Handoff: true,
			Policy: compile(t, config.Access{Groups: []string{"engineering"}})},
		{Name: "sales", Title: "CRM", Host: "crm.example.com", Prefix: "/", Handoff: true,
			Policy: compile(t, config.Access{Groups: []string{"sales"}})},
		{Name: "pay", Title: "Payroll", Description: "Pay slips", Host: "pay.example.com", Prefix: "/p", Handoff: true,
			Policy: compile(t, config.Access{RequireMFA: true})},
		{Name: "old", Title: "Old intranet", Host: "old.example.com", Prefix: "/", Handoff: true,
			Policy: compile(t, config.Access{MaxSessionAge: config.Duration(time.Minute)})},
		{Name: "office", Title: "Office net", Host: "office.example.com", Prefix: "/", Handoff: true,
			Policy: compile(t, config.Access{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})},
		{Name: "status", Title: "Status", Host: "status.example.com", Prefix: "/"},
		{Name: "sp", Title: "SAML app", Host: "sp.example.com", Prefix: "/", Launch: reserved.SAMLLaunch("sp"), Handoff: true},
	}}
	list := func(id sdk.Identity) string {
		var b []string
		for _, e := range p.List(id, now.Add(-time.Hour), netip.MustParseAddr("192.0.2.1"), "apps.example.com:8443") {
			s := e.Title + " " + e.Href
			if e.Stronger {
				s += " (stronger)"
			}
			b = append(b, s)
		}
		return strings.Join(b, "\n")
	}
	alice := list(sdk.Identity{Subject: "alice", Groups: []string{"engineering"}, AMR: []string{"pwd", "mfa"}})
	want := strings.Join([]string{
		"Engineering wiki https://eng.example.com:8443/.gatehouse/auth/eng/start?return=%2F",
		"Old intranet https://old.example.com:8443/.gatehouse/auth/old/start?return=%2F",
		"Payroll https://pay.example.com:8443/.gatehouse/auth/pay/start?return=%2Fp",
		"SAML app https://sp.example.com:8443/.gatehouse/auth/sp/start?return=" + url.QueryEscape(reserved.SAMLLaunch("sp")),
		"Status https://status.example.com:8443/",
	}, "\n")
	if alice != want {
		t.Errorf("alice's list:\n%s\nwant:\n%s", alice, want)
	}
	bob := list(sdk.Identity{Subject: "bob", Groups: []string{"sales"}, AMR: []string{"pwd"}})
	want = strings.Join([]string{
		"CRM https://crm.example.com:8443/.gatehouse/auth/sales/start?return=%2F",
		"Old intranet https://old.example.com:8443/.gatehouse/auth/old/start?return=%2F",
		"Payroll https://pay.example.com:8443/.gatehouse/auth/pay/start?return=%2Fp (stronger)",
		"SAML app https://sp.example.com:8443/.gatehouse/auth/sp/start?return=" + url.QueryEscape(reserved.SAMLLaunch("sp")),
		"Status https://status.example.com:8443/",
	}, "\n")
	if bob != want {
		t.Errorf("bob's list:\n%s\nwant:\n%s", bob, want)
	}
}

// The server-side search keeps entries holding every word, in any case.
func TestFilter(t *testing.T) {
	es := []Entry{{Title: "Payroll", Search: "payroll pay pay slips"}, {Title: "CRM", Search: "crm sales customers"}}
	for q, want := range map[string]int{"PAY": 1, "pay slips": 1, "sales crm": 1, "x": 0, "": 2} {
		if got := len(Filter(es, q)); got != want {
			t.Errorf("Filter(%q): %d entries, want %d", q, got, want)
		}
	}
}

// An app that needs a device certificate is listed, marked, for the users
// its other rules admit (the portal cannot see a device), and left out
// for the others.
func TestListMarksDeviceApps(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	dev := &config.RequireDevice{CAFile: "ca.pem"}
	p := &Page{Title: "My Apps", Now: func() time.Time { return now }, Apps: []App{
		{Name: "fin", Title: "Finance", Host: "fin.example.com", Prefix: "/", Handoff: true, Device: true,
			Policy: compile(t, config.Access{Groups: []string{"finance"}, RequireDevice: dev})},
	}}
	for _, c := range []struct {
		groups []string
		want   int
	}{{[]string{"finance"}, 1}, {[]string{"sales"}, 0}} {
		es := p.List(sdk.Identity{Subject: "u", Groups: c.groups}, now, netip.MustParseAddr("192.0.2.1"), "apps.example.com")
		if len(es) != c.want {
			t.Fatalf("groups %v: %d entries, want %d", c.groups, len(es), c.want)
		}
		if len(es) == 1 && !es[0].Device {
			t.Errorf("groups %v: the device app is not marked", c.groups)
		}
	}
}
