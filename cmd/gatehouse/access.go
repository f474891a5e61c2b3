package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/device"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/sdk"
)

// policyTest is "gatehouse policy test": what would the config's access
// policy of an app decide for this user and request? ALLOW exits 0; DENY
// and SIGN IN AGAIN exit 1, so that a script can test the answer.
func policyTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("policy test", stderr)
	app := fs.String("app", "", "the app (required)")
	user := fs.String("user", "", "the user's subject (required)")
	upn := fs.String("upn", "", "the user's UPN")
	email := fs.String("email", "", "the user's e-mail")
	groups := fs.String("groups", "", "comma-separated groups")
	amr := fs.String("amr", "pwd", "comma-separated authentication methods")
	ip := fs.String("ip", "192.0.2.1", "the client's IP address")
	method := fs.String("method", "GET", "the request method")
	path := fs.String("path", "/", "the request path")
	age := fs.Duration("signed-in-ago", 0, "how long ago the user signed in")
	devFile := fs.String("device", "", "a device certificate (PEM), checked as the gateway would (access.require_device)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *app == "" || *user == "" {
		return usageError("policy test needs --app NAME and --user SUBJECT")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	var a *config.App
	for i := range cfg.Apps {
		if cfg.Apps[i].Name == *app {
			a = &cfg.Apps[i]
		}
	}
	if a == nil {
		return fmt.Errorf("no app %q in %s", *app, cfg.Path)
	}
	if a.Auth.Passthrough {
		fmt.Fprintf(stdout, "ALLOW (passthrough): app %q has no sign-in; anyone who reaches it is let through\n", *app)
		return nil
	}
	addr, err := netip.ParseAddr(*ip)
	if err != nil {
		return fmt.Errorf("--ip: %w", err)
	}
	p, err := policy.Compile(a.Access)
	if err != nil {
		return err
	}
	now := time.Now()
	dev, err := testDevice(*devFile, a.Access.RequireDevice)
	if err != nil {
		fmt.Fprintf(stdout, "DENY (access.require_device): %v\n", err)
		return errDenied
	}
	d := p.Decide(policy.Input{
		Identity: sdk.Identity{Subject: *user, UPN: *upn, Email: *email, Groups: list(*groups), AMR: list(*amr)},
		SignedIn: now.Add(-*age), ClientIP: addr, Method: *method, Host: a.Host, Path: *path, Now: now, Device: dev,
	})
	verdict := "ALLOW"
	if !d.Allow {
		verdict = "DENY"
		if d.Reauth {
			verdict = "SIGN IN AGAIN"
		}
	}
	fmt.Fprintf(stdout, "%s (%s): %s\n", verdict, d.Rule, d.Reason)
	if !d.Allow {
		return errDenied // exit code 1, as for any check that says no
	}
	return nil
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// testDevice reads the device certificate of policy test --device (nil
// without one) and, for an app with require_device, verifies it against
// the app's CA and CRL as the gateway would.
func testDevice(file string, rd *config.RequireDevice) (*device.Device, error) {
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--device: %w", err)
	}
	var chain []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil && b.Type == "CERTIFICATE" {
			chain = append(chain, c)
		}
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("--device %s: no PEM certificate in the file", file)
	}
	if rd == nil {
		return device.Describe(chain[0]), nil
	}
	v, err := device.New(device.Options{CAFile: rd.CAFile, CRLFile: rd.CRLFile})
	if err != nil {
		return nil, err
	}
	return v.Verify(chain)
}
