package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Session is a signed-in user's session with one app.
type Session struct {
	// ID identifies the session (for sign-out and revocation).
	ID string
	// IssuedAt is when the user signed in; Expires when they must again.
	IssuedAt, Expires time.Time
	// Envelope is the signed identity sent to connectors with each request.
	Envelope []byte
}

// ErrExpired is returned for a session or state past its expiry.
var ErrExpired = errors.New("session: expired")

const sessionV1 = 1

func sessionPurpose(app, host string) string { return "session\x00" + app + "\x00" + host }

// SealSession seals s for app at host. A session too large for a cookie is
// an error.
func (sl *Sealer) SealSession(app, host string, s Session) (string, error) {
	b := []byte{sessionV1}
	b = binary.AppendVarint(b, s.IssuedAt.Unix())
	b = binary.AppendVarint(b, s.Expires.Unix())
	b = binary.AppendUvarint(b, uint64(len(s.ID)))
	b = append(b, s.ID...)
	b = append(b, s.Envelope...)
	v := sl.Seal(sessionPurpose(app, host), b)
	if len(v) > MaxCookie {
		return "", fmt.Errorf("session: %d bytes sealed is too large for a cookie (the identity has too many groups or claims)", len(v))
	}
	return v, nil
}

// OpenSession opens a value from SealSession for app at host and checks
// that it has not expired at now. A value opened before is not opened
// again (opened.go): the Session returned is then shared, and nobody may
// change it (its Envelope's bytes above all).
func (sl *Sealer) OpenSession(app, host, value string, now time.Time) (Session, error) {
	k := openedKey{app: app, host: host, value: value}
	if s, ok := sl.opened.get(k); ok {
		if !now.Before(s.Expires) {
			sl.opened.remove(k)
			return s, ErrExpired
		}
		return s, nil
	}
	s, err := sl.openSession(app, host, value, now)
	if err == nil {
		sl.opened.add(k, s, now)
	}
	return s, err
}

// openSession opens a sealed session value without the cache.
func (sl *Sealer) openSession(app, host, value string, now time.Time) (Session, error) {
	b, err := sl.Open(sessionPurpose(app, host), value)
	if err != nil {
		return Session{}, err
	}
	if len(b) == 0 || b[0] != sessionV1 {
		return Session{}, ErrInvalid
	}
	b = b[1:]
	var s Session
	iat, n := binary.Varint(b)
	if n <= 0 {
		return Session{}, ErrInvalid
	}
	b = b[n:]
	exp, n := binary.Varint(b)
	if n <= 0 {
		return Session{}, ErrInvalid
	}
	b = b[n:]
	idLen, n := binary.Uvarint(b)
	if n <= 0 || idLen > uint64(len(b)-n) {
		return Session{}, ErrInvalid
	}
	b = b[n:]
	s.ID, s.Envelope = string(b[:idLen]), b[idLen:]
	s.IssuedAt, s.Expires = time.Unix(iat, 0), time.Unix(exp, 0)
	if !now.Before(s.Expires) {
		return s, ErrExpired
	}
	return s, nil
}
