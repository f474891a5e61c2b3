package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// RevokeSessions ends subject's sessions that started before t.
func (d *DB) RevokeSessions(ctx context.Context, subject string, t time.Time) error {
	if err := d.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO revocations (subject, before) VALUES (?1, ?2)
			ON CONFLICT (subject) DO UPDATE SET before = max(before, excluded.before)`,
			subject, t.UnixNano()); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeRevokeSessions, subject)
	}); err != nil {
		return fmt.Errorf("sqlite store: revoking sessions of %q: %w", subject, err)
	}
	return nil
}

// RevokedBefore returns the revocation line of subject, or the zero time.
func (d *DB) RevokedBefore(ctx context.Context, subject string) (time.Time, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, `SELECT before FROM revocations WHERE subject = ?`, subject).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("sqlite store: reading revocations of %q: %w", subject, err)
	}
	return time.Unix(0, n), nil
}

// RevokeSession refuses session id until expires.
func (d *DB) RevokeSession(ctx context.Context, id string, expires time.Time) error {
	if err := d.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO revoked_sessions (id, expires) VALUES (?1, ?2)
			ON CONFLICT (id) DO UPDATE SET expires = max(expires, excluded.expires)`,
			id, expires.UnixNano()); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeRevokeSession, id)
	}); err != nil {
		return fmt.Errorf("sqlite store: revoking a session: %w", err)
	}
	return nil
}

// SessionRevoked reports whether session id was signed out. A record
// past its expiry no longer matters (the session is expired anyway) and
// still reads true until it is deleted.
func (d *DB) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT 1 FROM revoked_sessions WHERE id = ?`, id).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlite store: reading session revocations: %w", err)
	}
	return true, nil
}

const revocationQuery = `SELECT (SELECT before FROM revocations WHERE subject = ?1),
	EXISTS (SELECT 1 FROM revoked_sessions WHERE id = ?2 AND ?2 <> '')`

// Revocation reads subject's revocation line and whether session id was
// signed out with one statement: a signed-in request asks both.
func (d *DB) Revocation(ctx context.Context, subject, id string) (time.Time, bool, error) {
	var before sql.NullInt64
	var out int
	err := d.revocation.QueryRowContext(ctx, subject, id).Scan(&before, &out)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite store: reading revocations of %q: %w", subject, err)
	}
	var t time.Time
	if before.Valid {
		t = time.Unix(0, before.Int64)
	}
	return t, out == 1, nil
}

// DeleteExpiredSessionRevocations removes sign-outs whose session expired
// before t.
func (d *DB) DeleteExpiredSessionRevocations(ctx context.Context, t time.Time) (int, error) {
	n, err := rowsAffected(d.exec(ctx, `DELETE FROM revoked_sessions WHERE expires < ?`, t.UnixNano()))
	if err != nil {
		return 0, fmt.Errorf("sqlite store: deleting expired session revocations: %w", err)
	}
	return int(n), nil
}

// AddSignIn appends to the sign-in log.
func (d *DB) AddSignIn(ctx context.Context, s store.SignIn) error {
	if _, err := d.exec(ctx,
		`INSERT INTO signins (at, app, plugin, subject, result, reason, client_ip, device) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.At.UnixNano(), s.App, s.Plugin, s.Subject, s.Result, s.Reason, s.ClientIP, s.Device); err != nil {
		return fmt.Errorf("sqlite store: recording a sign-in: %w", err)
	}
	return nil
}

// DeleteSignInsBefore removes sign-in records older than t.
func (d *DB) DeleteSignInsBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := rowsAffected(d.exec(ctx, `DELETE FROM signins WHERE at < ?`, t.UnixNano()))
	if err != nil {
		return 0, fmt.Errorf("sqlite store: deleting old sign-ins: %w", err)
	}
	return int(n), nil
}

// ListSignIns returns the latest limit records, newest first.
func (d *DB) ListSignIns(ctx context.Context, limit int) ([]store.SignIn, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT at, app, plugin, subject, result, reason, client_ip, device FROM signins ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing sign-ins: %w", err)
	}
	defer rows.Close()
	var out []store.SignIn
	for rows.Next() {
		var s store.SignIn
		var at int64
		if err := rows.Scan(&at, &s.App, &s.Plugin, &s.Subject, &s.Result, &s.Reason, &s.ClientIP, &s.Device); err != nil {
			return nil, fmt.Errorf("sqlite store: listing sign-ins: %w", err)
		}
		s.At = time.Unix(0, at)
		out = append(out, s)
	}
	return out, rows.Err()
}
