package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// CreateToken stores a new enrollment token (store.ErrExists on a duplicate ID).
func (d *DB) CreateToken(ctx context.Context, t store.Token) error {
	n, err := rowsAffected(d.exec(ctx,
		`INSERT INTO tokens (id, secret_hash, grp, created_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		t.ID, t.SecretHash, t.Group, nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.UsedAt)))
	if err != nil {
		return fmt.Errorf("sqlite store: creating token %q: %w", t.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite store: creating token %q: %w", t.ID, store.ErrExists)
	}
	return nil
}

// GetToken returns a token by ID, or store.ErrNotFound.
func (d *DB) GetToken(ctx context.Context, id string) (store.Token, error) {
	t := store.Token{ID: id}
	var created, expires, used sql.NullInt64
	err := d.db.QueryRowContext(ctx,
		`SELECT secret_hash, grp, created_at, expires_at, used_at FROM tokens WHERE id = ?`, id).
		Scan(&t.SecretHash, &t.Group, &created, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Token{}, fmt.Errorf("sqlite store: getting token %q: %w", id, store.ErrNotFound)
	case err != nil:
		return store.Token{}, fmt.Errorf("sqlite store: getting token %q: %w", id, err)
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromNanos(created), fromNanos(expires), fromNanos(used)
	return t, nil
}

// UseToken marks a token used at time at. The conditional UPDATE is atomic
// across connections and processes, so exactly one caller succeeds; the
// others get store.ErrUsed, and an unknown ID gets store.ErrNotFound.
func (d *DB) UseToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		// A zero time would be stored as NULL: the token would stay unused.
		return fmt.Errorf("sqlite store: using token %q: zero time", id)
	}
	var used bool
	err := d.writeTx(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx,
			`UPDATE tokens SET used_at = ? WHERE id = ? AND used_at IS NULL`, nanos(at), id))
		if used = n == 1; err != nil || !used {
			return err
		}
		return record(ctx, tx, store.ChangeTokenUsed, id)
	})
	if err != nil {
		return fmt.Errorf("sqlite store: using token %q: %w", id, err)
	}
	if used {
		return nil
	}
	// Nothing changed: the token is either used or missing.
	var exists bool
	if err := d.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tokens WHERE id = ?)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("sqlite store: using token %q: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("sqlite store: using token %q: %w", id, store.ErrNotFound)
	}
	return fmt.Errorf("sqlite store: using token %q: %w", id, store.ErrUsed)
}

// DeleteExpiredTokens removes tokens whose ExpiresAt is before t (a zero
// ExpiresAt included) and returns how many.
func (d *DB) DeleteExpiredTokens(ctx context.Context, t time.Time) (int, error) {
	if t.IsZero() {
		return 0, nil // nothing is before the zero time
	}
	n, err := rowsAffected(d.exec(ctx,
		`DELETE FROM tokens WHERE expires_at IS NULL OR expires_at < ?`, nanos(t)))
	if err != nil {
		return 0, fmt.Errorf("sqlite store: deleting expired tokens: %w", err)
	}
	return int(n), nil
}
