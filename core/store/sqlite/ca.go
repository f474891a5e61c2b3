package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/core/store"
)

// LoadCA returns the connector CA, or store.ErrNotFound before the first SaveCA.
func (d *DB) LoadCA(ctx context.Context) (store.CA, error) {
	var ca store.CA
	err := d.db.QueryRowContext(ctx, `SELECT cert_pem, key_pem FROM ca WHERE id = 1`).Scan(&ca.CertPEM, &ca.KeyPEM)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.CA{}, fmt.Errorf("sqlite store: loading CA: %w", store.ErrNotFound)
	case err != nil:
		return store.CA{}, fmt.Errorf("sqlite store: loading CA: %w", err)
	}
	return ca, nil
}

// SaveCA stores the CA unless one exists, in which case it returns
// store.ErrExists and the stored CA is left unchanged.
func (d *DB) SaveCA(ctx context.Context, ca store.CA) error {
	n, err := rowsAffected(d.exec(ctx,
		`INSERT INTO ca (id, cert_pem, key_pem) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
		ca.CertPEM, ca.KeyPEM))
	if err != nil {
		return fmt.Errorf("sqlite store: saving CA: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite store: saving CA: %w", store.ErrExists)
	}
	return nil
}
