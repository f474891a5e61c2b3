package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
)

// changesLock is the key of the transaction-scoped advisory lock that a
// transaction takes just before it inserts its change rows and holds
// until it commits: the first 8 bytes of SHA-256("gatehouse changes"),
// so that another application sharing the database is unlikely to use
// the same key. Rows therefore take their seq and commit one transaction
// after the other, and a follower reading seq > cursor never skips a row
// with a smaller seq that commits after a larger one (an identity column
// alone hands out seqs in the order transactions ask, not in the order
// they commit). PostgreSQL releases the lock after the commit is visible.
const changesLock int64 = 0x2971_4518_94c9_f039

// changesChannel is the NOTIFY channel every change is announced on.
const changesChannel = "gatehouse_changes"

// writeTx runs fn in one transaction and commits it; fn records its
// changes with record, as its last statement.
func (d *DB) writeTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, d.pool, fn)
}

// record inserts one change row of kind per key inside tx, under
// changesLock, and notifies changesChannel (delivered at commit). It
// must be the transaction's last statement: the lock it takes is held
// until the commit, and nothing else may wait while holding it. In one
// round trip.
func record(ctx context.Context, tx pgx.Tx, kind string, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	bkeys := make([][]byte, len(keys))
	for i, k := range keys {
		bkeys[i] = []byte(k)
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, changesLock)
	b.Queue(`INSERT INTO changes (kind, key, at)
		SELECT $1, k, $3 FROM unnest($2::bytea[]) WITH ORDINALITY AS u(k, i) ORDER BY i`,
		kind, bkeys, time.Now().UnixNano())
	b.Queue(`SELECT pg_notify($1, '')`, changesChannel)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("recording the change: %w", err)
	}
	return nil
}

// Changes returns the change records with Seq after after, oldest first,
// at most limit (which must be positive) of them.
func (d *DB) Changes(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("postgres store: reading changes: limit %d must be positive", limit)
	}
	rows, err := d.pool.Query(ctx,
		`SELECT seq, kind, key, at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres store: reading changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Change, error) {
		var c store.Change
		var key []byte
		var at int64
		err := r.Scan(&c.Seq, &c.Kind, &key, &at)
		c.Key, c.At = string(key), time.Unix(0, at).UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres store: reading changes: %w", err)
	}
	return out, nil
}

// LastChange returns the newest Seq, or 0 when there is no change record.
func (d *DB) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := d.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("postgres store: reading the last change: %w", err)
	}
	return seq, nil
}

// DeleteChangesBefore removes change records older than t. The identity
// column never hands out a deleted seq again.
func (d *DB) DeleteChangesBefore(ctx context.Context, t time.Time) (int, error) {
	if t.IsZero() {
		return 0, nil // nothing is before the zero time
	}
	n, err := d.exec(ctx, `DELETE FROM changes WHERE at < $1`, t.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("postgres store: deleting old changes: %w", err)
	}
	return int(n), nil
}

// Listen holds one connection of the pool, LISTENing on changesChannel,
// and sends on wake (without blocking) at each notification, until ctx
// is done (it returns ctx's error) or the connection fails. That
// connection is closed, not returned to the pool, when Listen returns:
// a connection still LISTENing would collect notifications for whoever
// used it next. While it runs, its connection is out of the pool
// (hijacked), so a node opens at most max_conns + 1.
func (d *DB) Listen(ctx context.Context, wake chan<- struct{}) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return d.listenError(ctx, "connecting", err)
	}
	pc := conn.Hijack() // the pool forgets it; closed below
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pc.Close(closeCtx) //nolint:errcheck // closing a connection we no longer use
	}()
	if _, err := pc.Exec(ctx, `LISTEN `+changesChannel); err != nil {
		return d.listenError(ctx, "subscribing", err)
	}
	for {
		if _, err := pc.WaitForNotification(ctx); err != nil {
			return d.listenError(ctx, "waiting for notifications", err)
		}
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// listenError describes why Listen stopped, without the DSN's password:
// ctx's error when ctx is done, else the connection's.
func (d *DB) listenError(ctx context.Context, doing string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("postgres store: listening for changes: %w", ctx.Err())
	}
	return fmt.Errorf("postgres store: listening for changes: %s: %s", doing, Redact(err.Error(), d.dsn))
}
