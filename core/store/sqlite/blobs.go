package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// PutBlob stores value under key, replacing any earlier value.
func (d *DB) PutBlob(ctx context.Context, key string, value []byte, modified time.Time) error {
	if value == nil {
		value = []byte{}
	}
	if err := d.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO blobs (key, value, modified) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, modified = excluded.modified`,
			key, value, nanos(modified)); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeBlob, key)
	}); err != nil {
		return fmt.Errorf("sqlite store: putting blob %q: %w", key, err)
	}
	return nil
}

// GetBlob returns the blob at key, or store.ErrNotFound.
func (d *DB) GetBlob(ctx context.Context, key string) (store.Blob, error) {
	b := store.Blob{Key: key}
	var modified sql.NullInt64
	err := d.db.QueryRowContext(ctx, `SELECT value, modified FROM blobs WHERE key = ?`, key).Scan(&b.Value, &modified)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Blob{}, fmt.Errorf("sqlite store: getting blob %q: %w", key, store.ErrNotFound)
	case err != nil:
		return store.Blob{}, fmt.Errorf("sqlite store: getting blob %q: %w", key, err)
	}
	if b.Value == nil {
		b.Value = []byte{}
	}
	b.Size, b.Modified = int64(len(b.Value)), fromNanos(modified)
	return b, nil
}

// StatBlob returns the blob at key without its value, or store.ErrNotFound.
func (d *DB) StatBlob(ctx context.Context, key string) (store.Blob, error) {
	b := store.Blob{Key: key}
	var modified sql.NullInt64
	err := d.db.QueryRowContext(ctx, `SELECT length(value), modified FROM blobs WHERE key = ?`, key).Scan(&b.Size, &modified)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Blob{}, fmt.Errorf("sqlite store: stat blob %q: %w", key, store.ErrNotFound)
	case err != nil:
		return store.Blob{}, fmt.Errorf("sqlite store: stat blob %q: %w", key, err)
	}
	b.Modified = fromNanos(modified)
	return b, nil
}

// DeleteBlobs deletes key and every key below key + "/"; when it deleted
// any, it records one store.ChangeBlob for key.
func (d *DB) DeleteBlobs(ctx context.Context, key string) (int, error) {
	var n int64
	err := d.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx,
			`DELETE FROM blobs WHERE key = ?1 OR substr(key, 1, length(?2)) = ?2`, key, key+"/"))
		if err != nil || n == 0 {
			return err
		}
		return record(ctx, tx, store.ChangeBlob, key)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite store: deleting blobs %q: %w", key, err)
	}
	return int(n), nil
}

// ListBlobs returns the keys that start with prefix, sorted.
func (d *DB) ListBlobs(ctx context.Context, prefix string) ([]string, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT key FROM blobs WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key`, prefix)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing blobs %q: %w", prefix, err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlite store: listing blobs %q: %w", prefix, err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing blobs %q: %w", prefix, err)
	}
	return keys, nil
}
