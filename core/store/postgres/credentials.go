package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
)

// PutCredential stores sealed credentials of subject for app.
func (d *DB) PutCredential(ctx context.Context, app, subject string, sealed []byte) error {
	if sealed == nil {
		sealed = []byte{}
	}
	if err := d.writeTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`INSERT INTO credentials (app, subject, sealed) VALUES ($1, $2, $3)
			ON CONFLICT (app, subject) DO UPDATE SET sealed = excluded.sealed`, app, subject, sealed); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeCredential, app+"/"+subject)
	}); err != nil {
		return fmt.Errorf("postgres store: storing credentials of %q for app %q: %w", subject, app, err)
	}
	return nil
}

// GetCredential returns sealed credentials, or store.ErrNotFound.
func (d *DB) GetCredential(ctx context.Context, app, subject string) ([]byte, error) {
	var b []byte
	err := d.pool.QueryRow(ctx, `SELECT sealed FROM credentials WHERE app = $1 AND subject = $2`, app, subject).Scan(&b)
	if err != nil {
		return nil, fmt.Errorf("postgres store: reading credentials of %q for app %q: %w", subject, app, notFound(err))
	}
	return b, nil
}

// DeleteCredential removes sealed credentials.
func (d *DB) DeleteCredential(ctx context.Context, app, subject string) error {
	if err := d.writeTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM credentials WHERE app = $1 AND subject = $2`, app, subject); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeCredential, app+"/"+subject)
	}); err != nil {
		return fmt.Errorf("postgres store: deleting credentials of %q for app %q: %w", subject, app, err)
	}
	return nil
}
