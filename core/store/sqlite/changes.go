package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// The change feed: a write other nodes must see records a row in changes
// inside its own transaction. Transactions begin IMMEDIATE (see params),
// so writers take the file's one write lock at BEGIN: rows are committed
// in seq order, and a follower reading seq > cursor never skips one that
// commits late.

// writeTx runs fn in one write transaction and commits it; fn records
// its changes with record. A transaction refused with SQLITE_READONLY
// while the files are writable is tried once more on a fresh connection,
// as exec does: a refused transaction changed nothing.
func (d *DB) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := d.tryTx(ctx, fn)
	if d.dropStaleConns(err) {
		err = d.tryTx(ctx, fn)
	}
	return err
}

func (d *DB) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// record adds one change row inside tx.
func record(ctx context.Context, tx *sql.Tx, kind, key string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO changes (kind, key, at) VALUES (?, ?, ?)`,
		kind, key, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("recording the change: %w", err)
	}
	return nil
}

// Changes returns the change records with Seq after after, oldest first,
// at most limit (which must be positive) of them.
func (d *DB) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlite store: reading changes: limit %d must be positive", limit)
	}
	rows, err := d.db.QueryContext(ctx,
		`SELECT seq, kind, key, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: reading changes: %w", err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var c store.Change
		var at int64
		if err := rows.Scan(&c.Seq, &c.Kind, &c.Key, &at); err != nil {
			return nil, fmt.Errorf("sqlite store: reading changes: %w", err)
		}
		c.At = time.Unix(0, at).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: reading changes: %w", err)
	}
	return out, nil
}

// LastChange returns the newest Seq, or 0 when there is no change record.
func (d *DB) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := d.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite store: reading the last change: %w", err)
	}
	return seq, nil
}

// DeleteChangesBefore removes change records older than t. AUTOINCREMENT
// never hands out a deleted seq again, so followers' cursors stay valid.
func (d *DB) DeleteChangesBefore(ctx context.Context, t time.Time) (int, error) {
	if t.IsZero() {
		return 0, nil // nothing is before the zero time
	}
	n, err := rowsAffected(d.exec(ctx, `DELETE FROM changes WHERE at < ?`, t.UnixNano()))
	if err != nil {
		return 0, fmt.Errorf("sqlite store: deleting old changes: %w", err)
	}
	return int(n), nil
}

// Listen returns store.ErrNoListen: SQLite has no notifications, so
// nodes poll Changes.
func (d *DB) Listen(ctx context.Context, wake chan<- struct{}) error {
	return store.ErrNoListen
}

// ListRevocations returns every subject's revocation line, ordered by
// subject.
func (d *DB) ListRevocations(ctx context.Context) ([]store.Revocation, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT subject, before FROM revocations ORDER BY subject`)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing revocations: %w", err)
	}
	defer rows.Close()
	var out []store.Revocation
	for rows.Next() {
		var r store.Revocation
		var before int64
		if err := rows.Scan(&r.Subject, &before); err != nil {
			return nil, fmt.Errorf("sqlite store: listing revocations: %w", err)
		}
		r.Before = time.Unix(0, before)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing revocations: %w", err)
	}
	return out, nil
}

// ListSessionRevocations returns the sign-outs whose session has not
// expired by now (Expires not before now), ordered by ID.
func (d *DB) ListSessionRevocations(ctx context.Context, now time.Time) ([]store.SessionRevocation, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT id, expires FROM revoked_sessions WHERE expires >= ? ORDER BY id`, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing session revocations: %w", err)
	}
	defer rows.Close()
	var out []store.SessionRevocation
	for rows.Next() {
		var r store.SessionRevocation
		var expires int64
		if err := rows.Scan(&r.ID, &expires); err != nil {
			return nil, fmt.Errorf("sqlite store: listing session revocations: %w", err)
		}
		r.Expires = time.Unix(0, expires)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing session revocations: %w", err)
	}
	return out, nil
}

// errNoRows reports whether err is database/sql's "no rows".
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
