package e2e

// What the browser tests share: the real OpenID provider, the real SAML
// IdP, and a Chromium that reaches the gateway under the apps' host names.

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/e2e/browser"
	"github.com/gatehouse/gatehouse/plugins/oidc/oplab"
	"github.com/gatehouse/gatehouse/plugins/saml/idplab"
)

// startOIDCProvider starts the real OpenID provider (oplab), stopped when
// the test ends; the test skips, saying why, when it cannot run here.
func startOIDCProvider(t *testing.T, opts oplab.Options) *oplab.OP {
	t.Helper()
	op, err := oplab.Start(context.Background(), opts)
	if errors.Is(err, oplab.ErrSkip) {
		t.Skipf("OpenID provider not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Stop() })
	return op
}

// startSAMLIdP starts the real SAML IdP (idplab, trusting no service
// provider yet), stopped when the test ends; the test skips, saying why,
// when it cannot run here.
func startSAMLIdP(ctx context.Context, t *testing.T) *idplab.IdP {
	t.Helper()
	idp, err := idplab.Start(ctx, idplab.Options{})
	if errors.Is(err, idplab.ErrSkip) {
		t.Skipf("SAML IdP not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Stop() })
	return idp
}

// gatewayBrowser starts Chromium trusting g's development CA, with each
// of hosts sent to the gateway's public address; it closes when the test
// ends.
func gatewayBrowser(ctx context.Context, t *testing.T, g *gatewayProc, hosts ...string) *browser.Browser {
	t.Helper()
	ca, err := os.ReadFile(g.devCAFile())
	if err != nil {
		t.Fatal(err)
	}
	to := make(map[string]string, len(hosts))
	for _, h := range hosts {
		to[h] = g.public
	}
	b, err := browser.Start(ctx, browser.Options{Hosts: to, ExtraCA: ca, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}
