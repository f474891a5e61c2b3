package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
)

// CreateToken stores a new enrollment token (store.ErrExists on a duplicate ID).
func (d *DB) CreateToken(ctx context.Context, t store.Token) error {
	n, err := d.exec(ctx,
		`INSERT INTO tokens (id, secret_hash, grp, created_at, expires_at, used_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		t.ID, t.SecretHash, t.Group, nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.UsedAt))
	if err != nil {
		return fmt.Errorf("postgres store: creating token %q: %w", t.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres store: creating token %q: %w", t.ID, store.ErrExists)
	}
	return nil
}

// GetToken returns a token by ID, or store.ErrNotFound.
func (d *DB) GetToken(ctx context.Context, id string) (store.Token, error) {
	t := store.Token{ID: id}
	var created, expires, used *int64
	err := d.pool.QueryRow(ctx,
		`SELECT secret_hash, grp, created_at, expires_at, used_at FROM tokens WHERE id = $1`, id).
		Scan(&t.SecretHash, &t.Group, &created, &expires, &used)
	if err != nil {
		return store.Token{}, fmt.Errorf("postgres store: getting token %q: %w", id, notFound(err))
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromNanos(created), fromNanos(expires), fromNanos(used)
	return t, nil
}

// UseToken marks a token used at time at. Under READ COMMITTED a second
// UPDATE of the same row waits for the first to commit and then re-checks
// used_at IS NULL on the new row, so exactly one caller, on any node,
// succeeds; the others get store.ErrUsed, and an unknown ID gets
// store.ErrNotFound.
func (d *DB) UseToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		// A zero time would be stored as NULL: the token would stay unused.
		return fmt.Errorf("postgres store: using token %q: zero time", id)
	}
	var used bool
	err := d.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, nanos(at), id)
		if used = tag.RowsAffected() == 1; err != nil || !used {
			return err
		}
		return record(ctx, tx, store.ChangeTokenUsed, id)
	})
	if err != nil {
		return fmt.Errorf("postgres store: using token %q: %w", id, err)
	}
	if used {
		return nil
	}
	// Nothing changed: the token is either used or missing.
	var exists bool
	if err := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tokens WHERE id = $1)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("postgres store: using token %q: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("postgres store: using token %q: %w", id, store.ErrNotFound)
	}
	return fmt.Errorf("postgres store: using token %q: %w", id, store.ErrUsed)
}

// DeleteExpiredTokens removes tokens whose ExpiresAt is before t (a zero
// ExpiresAt included) and returns how many.
func (d *DB) DeleteExpiredTokens(ctx context.Context, t time.Time) (int, error) {
	if t.IsZero() {
		return 0, nil // nothing is before the zero time
	}
	n, err := d.exec(ctx, `DELETE FROM tokens WHERE expires_at IS NULL OR expires_at < $1`, nanos(t))
	if err != nil {
		return 0, fmt.Errorf("postgres store: deleting expired tokens: %w", err)
	}
	return int(n), nil
}
