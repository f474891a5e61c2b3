package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
)

// PutBlob stores value under key, replacing any earlier value.
func (d *DB) PutBlob(ctx context.Context, key string, value []byte, modified time.Time) error {
	if value == nil {
		value = []byte{}
	}
	if err := d.writeTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`INSERT INTO blobs (key, value, modified) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, modified = excluded.modified`,
			[]byte(key), value, nanos(modified)); err != nil {
			return err
		}
		return record(ctx, tx, store.ChangeBlob, key)
	}); err != nil {
		return fmt.Errorf("postgres store: putting blob %q: %w", key, err)
	}
	return nil
}

// GetBlob returns the blob at key, or store.ErrNotFound.
func (d *DB) GetBlob(ctx context.Context, key string) (store.Blob, error) {
	b := store.Blob{Key: key}
	var modified *int64
	err := d.pool.QueryRow(ctx, `SELECT value, modified FROM blobs WHERE key = $1`, []byte(key)).Scan(&b.Value, &modified)
	if err != nil {
		return store.Blob{}, fmt.Errorf("postgres store: getting blob %q: %w", key, notFound(err))
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
	var modified *int64
	err := d.pool.QueryRow(ctx, `SELECT length(value), modified FROM blobs WHERE key = $1`, []byte(key)).Scan(&b.Size, &modified)
	if err != nil {
		return store.Blob{}, fmt.Errorf("postgres store: stat blob %q: %w", key, notFound(err))
	}
	b.Modified = fromNanos(modified)
	return b, nil
}

// DeleteBlobs deletes key and every key below key + "/"; when it deleted
// any, it records one store.ChangeBlob for key.
func (d *DB) DeleteBlobs(ctx context.Context, key string) (int, error) {
	lo, hi := prefixRange(key + "/")
	var n int64
	err := d.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`DELETE FROM blobs WHERE key = $1 OR (key >= $2 AND ($3::bytea IS NULL OR key < $3))`, []byte(key), lo, hi)
		if n = tag.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return record(ctx, tx, store.ChangeBlob, key)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres store: deleting blobs %q: %w", key, err)
	}
	return int(n), nil
}

// ListBlobs returns the keys that start with prefix, sorted byte-wise.
func (d *DB) ListBlobs(ctx context.Context, prefix string) ([]string, error) {
	lo, hi := prefixRange(prefix)
	rows, err := d.pool.Query(ctx,
		`SELECT key FROM blobs WHERE key >= $1 AND ($2::bytea IS NULL OR key < $2) ORDER BY key`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing blobs %q: %w", prefix, err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var k []byte
		err := r.Scan(&k)
		return string(k), err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing blobs %q: %w", prefix, err)
	}
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

// prefixRange returns the byte range [lo, hi) of the keys that start with
// prefix, so the primary key's index finds them (a LIKE pattern would
// treat % and _ as wildcards). hi is nil when there is no upper bound: an
// empty prefix, or one of 0xff bytes only.
func prefixRange(prefix string) (lo, hi []byte) {
	lo = []byte(prefix)
	hi = []byte(prefix)
	for len(hi) > 0 && hi[len(hi)-1] == 0xff {
		hi = hi[:len(hi)-1]
	}
	if len(hi) == 0 {
		return lo, nil
	}
	hi[len(hi)-1]++
	return lo, hi
}
