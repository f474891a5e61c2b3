package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
)

// The demo's users sign in at a real OpenID provider that the demo starts
// itself: panva's oidc-provider, run by the oplab package that the tests
// use too (plugins/oidc/oplab; its users, clients and passwords are
// oplab's constants). It listens on plain HTTP on 127.0.0.1 only, which the
// oidc plug-in accepts for a provider on the same machine.
//
// oplab installs oidc-provider with npm into .tools/ the first time. When
// that cannot work (no Node.js, no network, GATEHOUSE_OIDC_OP=0), the demo
// still runs, with auth: passthrough, and says so loudly.

// provider is the running OpenID provider, or why there is none.
type provider struct {
	op  *oplab.OP // nil when sign-in is off
	off string    // why sign-in is off (when op is nil)
}

// tokenURL is the provider's token endpoint, where the robot gets tokens.
func (p *provider) tokenURL() string { return p.op.Issuer + "/token" }

// startProvider starts the OpenID provider on port with the demo app's
// callback registered. A provider that cannot run is not an error: the
// result says why sign-in is off. Only an interrupt (ctx done) is.
func (d *demo) startProvider(ctx context.Context, port int, callbacks ...string) (*provider, error) {
	if hint := installHint(); hint != "" {
		fmt.Fprintf(d.out, "  %-10s %s\n", "provider", hint)
	}
	op, err := oplab.Start(ctx, oplab.Options{RedirectURIs: callbacks, Port: port})
	if ctx.Err() != nil {
		_ = op.Stop()
		return nil, ctx.Err()
	}
	if err != nil {
		why := strings.TrimSpace(err.Error())
		d.setupLog("OpenID provider could not start; sign-in is off:\n" + why + "\n")
		first, _, _ := strings.Cut(why, "\n")
		fmt.Fprintf(d.out, "  %-10s COULD NOT START; sign-in is off, the app is published with auth: passthrough\n", "provider")
		fmt.Fprintf(d.out, "  %-10s %s\n", "", first)
		return &provider{off: first}, nil
	}
	return &provider{op: op}, nil
}

// installHint says that the first run installs oidc-provider, which takes
// a while, or nothing when it is installed (or cannot be).
func installHint() string {
	if os.Getenv("GATEHOUSE_OIDC_OP") == "0" {
		return ""
	}
	root, err := repoRoot()
	if err != nil {
		return ""
	}
	pkg := filepath.Join(root, ".tools", "oidc-provider", "node_modules", "oidc-provider", "package.json")
	if _, err := os.Stat(pkg); err == nil {
		return ""
	}
	return "installing oidc-provider with npm into .tools/oidc-provider (first run only, about a minute)"
}

// stopProvider stops the provider and keeps what it logged.
func (d *demo) stopProvider() {
	if d.prov == nil || d.prov.op == nil {
		return
	}
	log := d.prov.op.Log()
	_ = d.prov.op.Stop()
	_ = os.WriteFile(filepath.Join(d.opts.dir, providerLog), []byte(log), 0o644)
	d.prov = nil
}

// watchProvider reports on d.provDown when the provider stops accepting
// connections: three failed connection attempts, one a second (oplab owns
// the process and does not say when it exits). Its goroutine ends with ctx;
// run cancels ctx and waits for it (d.wg) before it stops anything.
func (d *demo) watchProvider(ctx context.Context) {
	u, err := url.Parse(d.prov.op.Issuer)
	if err != nil {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var dialer net.Dialer
		for fails := 0; ; {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			c, err := dialer.DialContext(dctx, "tcp", u.Host)
			cancel()
			switch {
			case ctx.Err() != nil:
				return
			case err == nil:
				c.Close()
				fails = 0
			default:
				if fails++; fails == 3 {
					d.provDown <- fmt.Errorf("stopped accepting connections on %s (%v)", u.Host, err)
					return
				}
			}
		}
	}()
}

// providerFailed shows why the provider failed and what it logged, like
// failed does for the other children.
func (d *demo) providerFailed(err error) error {
	fmt.Fprintf(d.out, "\ngatehouse demo: the OpenID provider %v; last lines of its log:\n%s", err, tailText(d.prov.op.Log(), tailSize))
	return fmt.Errorf("the OpenID provider %w", err)
}
