package postgres

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/core/store"
)

// LoadCA returns the connector CA, or store.ErrNotFound before the first SaveCA.
func (d *DB) LoadCA(ctx context.Context) (store.CA, error) {
	var ca store.CA
	err := d.pool.QueryRow(ctx, `SELECT cert_pem, key_pem FROM ca WHERE id = 1`).Scan(&ca.CertPEM, &ca.KeyPEM)
	if err != nil {
		return store.CA{}, fmt.Errorf("postgres store: loading CA: %w", notFound(err))
	}
	return ca, nil
}

// SaveCA stores the CA unless one exists, in which case it returns
// store.ErrExists and the stored CA is left unchanged: of two nodes racing
// at first start, exactly one wins.
func (d *DB) SaveCA(ctx context.Context, ca store.CA) error {
	n, err := d.exec(ctx,
		`INSERT INTO ca (id, cert_pem, key_pem) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
		ca.CertPEM, ca.KeyPEM)
	if err != nil {
		return fmt.Errorf("postgres store: saving CA: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("postgres store: saving CA: %w", store.ErrExists)
	}
	return nil
}
