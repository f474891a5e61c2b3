package gateway

// Apps whose backend is a SAML service provider: Gatehouse is its IdP
// (core/samlidp), at /.gatehouse/saml/APP/ on the app's host.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/samlidp"
	"github.com/gatehouse/gatehouse/core/signin"
)

// samlOwner names this process when it takes the store's lock to create
// an app's IdP signing key.
var samlOwner = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "gateway-" + hex.EncodeToString(b)
}()

// samlIdP builds the SAML IdP of cfg.Apps[i], whose users sign in through
// app; nil without saml_idp. Its signing key comes from the store (made
// there on first use), so every node signs with the same key.
func (g *Gateway) samlIdP(cfg *config.Config, i int, app *signin.App) (http.Handler, error) {
	a := cfg.Apps[i]
	s := a.SAMLIdP
	if s == nil {
		return nil, nil
	}
	sp, err := samlidp.ParseSP(s.Metadata, a.Host, a.PathPrefix)
	if err != nil {
		return nil, fmt.Errorf("%s: apps[%d].saml_idp: %w", cfg.Path, i, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	keys, err := samlidp.LoadKeys(ctx, g.opts.Store, a.Name, samlOwner, g.opts.Clock.Now)
	if err != nil {
		return nil, err
	}
	idp, err := samlidp.New(samlidp.Options{App: a.Name, SP: sp, Keys: keys, Users: app,
		Subject:  samlidp.Subject{Format: s.NameIDFormat, Value: s.NameIDValue, Attributes: s.Attributes},
		Lifetime: s.AssertionLifetime.D(), LaunchRelayState: s.LaunchRelayState, Logger: g.log})
	if err != nil {
		return nil, err
	}
	return idp, nil
}
