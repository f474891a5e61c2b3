package postgres

import (
	"context"
	"fmt"
	"time"
)

// TryLock takes the named lock for owner until expires with one
// conditional upsert: the row is written only if it is new, expired or
// already owner's. When two nodes race, PostgreSQL makes the second wait
// for the first's row and re-checks the condition on it, so exactly one
// gets the lock. A lock is a row with an expiry, not a session advisory
// lock: one held by a node that crashed is free once it expires.
func (d *DB) TryLock(ctx context.Context, name, owner string, now, expires time.Time) (bool, error) {
	n, err := d.exec(ctx,
		`INSERT INTO locks (name, owner, expires) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
		WHERE locks.expires < $4 OR locks.owner = excluded.owner`,
		name, owner, expires.UnixNano(), now.UnixNano())
	if err != nil {
		return false, fmt.Errorf("postgres store: taking lock %q: %w", name, err)
	}
	return n == 1, nil
}

// DeleteExpiredLocks removes locks that expired before t.
func (d *DB) DeleteExpiredLocks(ctx context.Context, t time.Time) (int, error) {
	n, err := d.exec(ctx, `DELETE FROM locks WHERE expires < $1`, t.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("postgres store: deleting expired locks: %w", err)
	}
	return int(n), nil
}

// Unlock releases the lock if owner holds it.
func (d *DB) Unlock(ctx context.Context, name, owner string) error {
	if _, err := d.exec(ctx, `DELETE FROM locks WHERE name = $1 AND owner = $2`, name, owner); err != nil {
		return fmt.Errorf("postgres store: releasing lock %q: %w", name, err)
	}
	return nil
}
