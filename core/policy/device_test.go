package policy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/device"
	"github.com/gatehouse/gatehouse/sdk"
)

// access.require_device refuses a request without a verified device, and
// the rule sees the device's fields.
func TestDecideDevice(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	laptop := &device.Device{Subject: "CN=laptop-7,O=Example", CommonName: "laptop-7", Serial: "1a2b",
		Issuer: "CN=Example Device CA", SANs: []string{"laptop-7.corp.example"}, NotAfter: now.Add(24 * time.Hour)}
	in := func(d *device.Device) Input {
		return Input{Identity: sdk.Identity{Subject: "alice"}, SignedIn: now, ClientIP: netip.MustParseAddr("192.0.2.1"),
			Method: "GET", Host: "hr.example.com", Path: "/", Now: now, Device: d}
	}
	req := &config.RequireDevice{CAFile: "ca.pem"}
	for _, tt := range []struct {
		name   string
		access config.Access
		in     Input
		allow  bool
		rule   string
	}{
		{"device required, none", config.Access{RequireDevice: req}, in(nil), false, "access.require_device"},
		{"device required, present", config.Access{RequireDevice: req}, in(laptop), true, "default"},
		{"rule on serial", config.Access{RequireDevice: req, Rule: `device.serial == "1a2b"`}, in(laptop), true, "access.rule"},
		{"rule on serial refuses another", config.Access{RequireDevice: req, Rule: `device.serial == "ffff"`}, in(laptop), false, "access.rule"},
		{"rule on subject and SANs", config.Access{Rule: `device.common_name.startsWith("laptop-") && "laptop-7.corp.example" in device.sans`}, in(laptop), true, "access.rule"},
		{"rule on expiry", config.Access{Rule: `device.not_after > timestamp("2026-12-07T13:00:00Z")`}, in(laptop), true, "access.rule"},
		{"rule without a device sees present false", config.Access{Rule: `!device.present && device.serial == "" && size(device.sans) == 0`}, in(nil), true, "access.rule"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.access)
			if err != nil {
				t.Fatal(err)
			}
			if p.Empty() {
				t.Fatal("a policy with a device requirement or rule reads as empty")
			}
			d := p.Decide(tt.in)
			if d.Allow != tt.allow || d.Rule != tt.rule || d.Reason == "" {
				t.Fatalf("Decide = %+v, want allow=%v rule=%s", d, tt.allow, tt.rule)
			}
		})
	}
}
