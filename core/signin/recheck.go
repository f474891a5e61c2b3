package signin

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/core/session"
	"github.com/gatehouse/gatehouse/tunnel"
)

// Why Recheck ends a connection.
var (
	ErrRevoked     = errors.New("session revoked or signed out")
	ErrExpired     = errors.New("session expired")
	ErrDenied      = errors.New("access policy no longer allows it")
	ErrUncheckable = errors.New("the check could not be made")
)

// Recheck checks again, for a long-lived connection (a TCP app's), what
// Admit checked when it opened: the session of adm must not have expired
// or been revoked, and the app's access policy must still let the user
// make request r (the request that opened the connection, request id
// rid). nil: the
// connection may go on; else why it must end (fail closed: a check that
// cannot be made ends it too). It answers nobody: the connection's
// owner closes it.
func (a *App) Recheck(r *http.Request, rid string, adm Admission) error {
	e, err := tunnel.ReadEnvelope(adm.Envelope)
	if err != nil {
		return ErrUncheckable
	}
	now := a.Gate.Now()
	if !now.Before(e.Expires) {
		return ErrExpired
	}
	s := session.Session{ID: e.Session, IssuedAt: e.IssuedAt, Expires: e.Expires, Envelope: adm.Envelope}
	w := discard{h: http.Header{}}
	switch a.revoked(w, r, rid, e.Identity, s) {
	case reauth:
		return ErrRevoked
	case done:
		return ErrUncheckable
	}
	if a.allowed(w, r, rid, e.Identity, s, now) != pass {
		return ErrDenied
	}
	return nil
}

// discard is a ResponseWriter for checks whose answer nobody reads.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
