package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
)

// RevokeSessions ends subject's sessions that started before t; the line
// never moves back.
func (d *DB) RevokeSessions(ctx context.Context, subject string, t time.Time) error {
	if err := d.writeTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`INSERT INTO revocations (subject, before_ns) VALUES ($1, $2)
			ON CONFLICT (subject) DO UPDATE SET before_ns = GREATEST(revocations.before_ns, excluded.before_ns)`,
			subject, t.UnixNano()); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeRevokeSessions, subject)
	}); err != nil {
		return fmt.Errorf("postgres store: revoking sessions of %q: %w", subject, err)
	}
	return nil
}

// RevokedBefore returns the revocation line of subject, or the zero time.
func (d *DB) RevokedBefore(ctx context.Context, subject string) (time.Time, error) {
	before, _, err := d.Revocation(ctx, subject, "")
	return before, err
}

// RevokeSession refuses session id until expires.
func (d *DB) RevokeSession(ctx context.Context, id string, expires time.Time) error {
	if err := d.writeTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`INSERT INTO revoked_sessions (id, expires) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET expires = GREATEST(revoked_sessions.expires, excluded.expires)`,
			id, expires.UnixNano()); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeRevokeSession, id)
	}); err != nil {
		return fmt.Errorf("postgres store: revoking a session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether session id was signed out. A record past
// its expiry still reads true until it is deleted.
func (d *DB) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var out bool
	err := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_sessions WHERE id = $1)`, id).Scan(&out)
	if err != nil {
		return false, fmt.Errorf("postgres store: reading session revocations: %w", err)
	}
	return out, nil
}

// Revocation reads subject's revocation line and whether session id was
// signed out with one statement: a signed-in request asks both. pgx
// prepares it once per connection and reuses it.
func (d *DB) Revocation(ctx context.Context, subject, id string) (time.Time, bool, error) {
	var before *int64
	var out bool
	err := d.pool.QueryRow(ctx, `SELECT (SELECT before_ns FROM revocations WHERE subject = $1),
		EXISTS (SELECT 1 FROM revoked_sessions WHERE id = $2 AND $2 <> '')`, subject, id).Scan(&before, &out)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres store: reading revocations of %q: %w", subject, err)
	}
	var t time.Time
	if before != nil {
		t = time.Unix(0, *before)
	}
	return t, out, nil
}

// DeleteExpiredSessionRevocations removes sign-outs whose session expired
// before t.
func (d *DB) DeleteExpiredSessionRevocations(ctx context.Context, t time.Time) (int, error) {
	n, err := d.exec(ctx, `DELETE FROM revoked_sessions WHERE expires < $1`, t.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("postgres store: deleting expired session revocations: %w", err)
	}
	return int(n), nil
}

// AddSignIn appends to the sign-in log. PostgreSQL text holds neither NUL
// bytes nor invalid UTF-8, which a client can put in what is logged (a
// user name it typed): those are replaced, so the record is kept.
func (d *DB) AddSignIn(ctx context.Context, s store.SignIn) error {
	if _, err := d.exec(ctx,
		`INSERT INTO signins (at, app, plugin, subject, result, reason, client_ip, device) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.At.UnixNano(), text(s.App), text(s.Plugin), text(s.Subject), text(s.Result), text(s.Reason), text(s.ClientIP), text(s.Device)); err != nil {
		return fmt.Errorf("postgres store: recording a sign-in: %w", err)
	}
	return nil
}

// text makes s storable as PostgreSQL text.
func text(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// DeleteSignInsBefore removes sign-in records older than t.
func (d *DB) DeleteSignInsBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := d.exec(ctx, `DELETE FROM signins WHERE at < $1`, t.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("postgres store: deleting old sign-ins: %w", err)
	}
	return int(n), nil
}

// ListSignIns returns the latest limit records, newest first; a negative
// limit is no limit, as in the sqlite store.
func (d *DB) ListSignIns(ctx context.Context, limit int) ([]store.SignIn, error) {
	var lim *int64 // NULL: LIMIT ALL
	if limit >= 0 {
		n := int64(limit)
		lim = &n
	}
	rows, err := d.pool.Query(ctx,
		`SELECT at, app, plugin, subject, result, reason, client_ip, device FROM signins ORDER BY id DESC LIMIT $1`, lim)
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing sign-ins: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SignIn, error) {
		var s store.SignIn
		var at int64
		err := r.Scan(&at, &s.App, &s.Plugin, &s.Subject, &s.Result, &s.Reason, &s.ClientIP, &s.Device)
		s.At = time.Unix(0, at)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing sign-ins: %w", err)
	}
	return out, nil
}
