package signin

import (
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/sdk"
)

// An Admission is what sign-in hands the proxy for a request it let
// through: everything the rest of the request path needs to know about
// the user, so that nothing after sign-in decodes an envelope.
type Admission struct {
	// Identity is who the user is, as the envelope says (for the app's
	// WASM filters).
	Identity sdk.Identity
	// Envelope is the signed identity the connector checks and passes to
	// the backend.
	Envelope []byte
	// Secret is the user's sealed vault credentials (their own, else the
	// app's shared ones); nil without the vault or without credentials.
	Secret []byte
}

// A Vault gives the sealed credentials of a user of the app (core/vault).
type Vault interface {
	// Secret returns subject's sealed credentials, else the app's shared
	// ones; nil (and no error) when there are none.
	Secret(ctx context.Context, subject string) ([]byte, error)
}

// admitted lets a request of session s (whose user is id) through: the
// gateway's cookies never go further, and an app with the vault gets the
// user's sealed credentials.
func (a *App) admitted(w http.ResponseWriter, r *http.Request, rid string, s session.Session, id sdk.Identity) (Admission, bool) {
	StripCookies(r.Header)
	a.stripOwnBearer(r, r.Header)
	adm := Admission{Identity: id, Envelope: s.Envelope}
	if a.Vault == nil {
		return adm, true
	}
	var err error
	if adm.Secret, err = a.Vault.Secret(r.Context(), id.Subject); err != nil {
		a.unavailable(w, r, rid, err)
		return Admission{}, false
	}
	return adm, true // without a secret, the plug-in asks for credentials
}

// User returns the signed-in user of r for a page of the gateway's own
// (the vault's), checked as a request to the app is: revocations and the
// access policy. With ok false it has answered: without a valid session
// the browser goes to ret (where signing in starts), and a refusal is
// answered as it would be for the app.
func (a *App) User(w http.ResponseWriter, r *http.Request, ret string) (sdk.Identity, bool) {
	rid := w.Header().Get("X-Request-Id")
	now := a.Gate.Now()
	s, found := a.session(r, rid, now)
	if !found {
		SeeOther(w, ret)
		return sdk.Identity{}, false
	}
	id, v := a.check(w, r, rid, s, now)
	switch v {
	case pass:
		return id, true
	case reauth: // signing in again starts at ret too
		SeeOther(w, ret)
	}
	return sdk.Identity{}, false
}

// Return is where a page of the gateway's own sends the user back to: p
// when it is a path on the app's host (made canonical), else the app's
// prefix.
func (a *App) Return(p string) string { return safeReturn(p, a.Prefix) }
