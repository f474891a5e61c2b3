package signin

import (
	"crypto/rand"
	"errors"

	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// newSession starts a session for id: it lasts the app's lifetime, or
// until the identity provider's assertion ends if that is sooner.
func (a *App) newSession(id sdk.Identity) (session.Session, error) {
	now := a.Gate.Now()
	exp := now.Add(a.Lifetime)
	if !id.Expiry.IsZero() && id.Expiry.Before(exp) {
		exp = id.Expiry
	}
	if !exp.After(now) {
		return session.Session{}, errors.New("the identity provider's assertion has already expired")
	}
	s := session.Session{ID: rand.Text(), IssuedAt: now, Expires: exp}
	var err error
	s.Envelope, err = tunnel.SignEnvelope(a.Gate.Envelope, tunnel.Envelope{
		App: a.Name, Session: s.ID, IssuedAt: now, Expires: exp, Identity: id,
	})
	return s, err
}
