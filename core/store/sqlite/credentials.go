package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/core/store"
)

// PutCredential stores sealed credentials of subject for app.
func (d *DB) PutCredential(ctx context.Context, app, subject string, sealed []byte) error {
	if err := d.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO credentials (app, subject, sealed) VALUES (?, ?, ?)
			ON CONFLICT (app, subject) DO UPDATE SET sealed = excluded.sealed`, app, subject, sealed); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeCredential, app+"/"+subject)
	}); err != nil {
		return fmt.Errorf("sqlite store: storing credentials of %q for app %q: %w", subject, app, err)
	}
	return nil
}

// GetCredential returns sealed credentials, or store.ErrNotFound.
func (d *DB) GetCredential(ctx context.Context, app, subject string) ([]byte, error) {
	var b []byte
	err := d.db.QueryRowContext(ctx, `SELECT sealed FROM credentials WHERE app = ? AND subject = ?`, app, subject).Scan(&b)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite store: credentials of %q for app %q: %w", subject, app, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlite store: reading credentials of %q for app %q: %w", subject, app, err)
	}
	return b, nil
}

// DeleteCredential removes sealed credentials.
func (d *DB) DeleteCredential(ctx context.Context, app, subject string) error {
	if err := d.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM credentials WHERE app = ? AND subject = ?`, app, subject); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeCredential, app+"/"+subject)
	}); err != nil {
		return fmt.Errorf("sqlite store: deleting credentials of %q for app %q: %w", subject, app, err)
	}
	return nil
}
