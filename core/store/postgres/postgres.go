// Package postgres implements store.Store on PostgreSQL with pgx and its
// connection pool (pgxpool), for several gateway nodes sharing one state.
//
// It behaves as the sqlite store does (both pass core/store/storetest):
// every write is one statement whose outcome PostgreSQL decides (INSERT
// ... ON CONFLICT DO NOTHING, UPDATE ... WHERE used_at IS NULL, DELETE ...
// RETURNING), so no check-then-act race spans two statements, and nodes
// exclude each other without any lock held in a node's memory. Named locks
// (certmagic's, for ACME) are rows with an owner and an expiry, so a lock
// held by a node that crashed is taken over once it expires, and no lock
// depends on one connection staying up.
//
// A write other nodes must see also records a row of the change feed
// (store.Change) in the same transaction, under an advisory lock that
// makes seq order commit order, and NOTIFYs gatehouse_changes, which
// Listen turns into wake-ups (changes.go).
//
// Open brings the schema up to date inside one transaction that first
// takes a transaction-scoped advisory lock (pg_advisory_xact_lock), so
// nodes starting at once migrate one after the other and the later ones
// find nothing to do. The applied versions are recorded in schema_version,
// as in the sqlite store; a database from a newer build is refused.
//
// Times are stored as UTC Unix nanoseconds (BIGINT), not timestamptz,
// which keeps only microseconds; the zero time.Time is stored as NULL.
// Blob keys are BYTEA: a key is any Go string, and PostgreSQL text can
// hold neither NUL bytes nor invalid UTF-8; BYTEA also sorts byte-wise, as
// Go compares strings.
//
// The DSN's password never appears in an error this package returns (see
// Redact).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/core/store"
)

var _ store.Store = (*DB)(nil)

// Options are the connection pool's limits. A zero field keeps the value
// the DSN sets (pool_max_conns and friends) or else pgxpool's default.
type Options struct {
	MaxConns        int32         // most connections open at once
	MinConns        int32         // connections kept open even when idle
	MaxConnLifetime time.Duration // a connection is replaced after this long
	MaxConnIdleTime time.Duration // an idle connection is closed after this long
}

// DB is a store.Store backed by a PostgreSQL database. It is safe for
// concurrent use, also by several processes (gateway nodes, operator
// commands) using the same database.
type DB struct {
	pool *pgxpool.Pool
	// migrated is how many schema versions this Open applied (0 when
	// another node, or an earlier start, had applied them all).
	migrated int
	// dsn is kept only to mask its password in errors (Redact) that
	// may quote connection details: Listen's, which reconnects.
	dsn string
}

// Open connects to the database that dsn names (a postgres:// URL or
// "key=value" pairs, as libpq takes them), with the pool limits in opts,
// and brings its schema up to date.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := poolConfig(dsn, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %s", Redact(err.Error(), dsn))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store: connecting to %s: %s", describe(cfg), Redact(err.Error(), dsn))
	}
	n, err := migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store: migrating the schema of %s: %s", describe(cfg), Redact(err.Error(), dsn))
	}
	return &DB{pool: pool, migrated: n, dsn: dsn}, nil
}

// poolConfig parses dsn and applies opts to it.
func poolConfig(dsn string, opts Options) (*pgxpool.Config, error) {
	if dsn == "" {
		return nil, errors.New("postgres store: the DSN is empty (e.g. postgres://gatehouse@db.example.com/gatehouse)")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN with the password masked, on a best
		// effort; Redact makes sure.
		return nil, fmt.Errorf("postgres store: the DSN is not valid: %s", Redact(err.Error(), dsn))
	}
	switch {
	case opts.MaxConns < 0, opts.MinConns < 0, opts.MaxConnLifetime < 0, opts.MaxConnIdleTime < 0:
		return nil, fmt.Errorf("postgres store: pool limits must not be negative: %+v", opts)
	case opts.MaxConns > 0 && opts.MinConns > opts.MaxConns:
		return nil, fmt.Errorf("postgres store: min_conns %d is more than max_conns %d", opts.MinConns, opts.MaxConns)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.MinConns > 0 {
		cfg.MinConns = opts.MinConns
	}
	if opts.MaxConnLifetime > 0 {
		cfg.MaxConnLifetime = opts.MaxConnLifetime
	}
	if opts.MaxConnIdleTime > 0 {
		cfg.MaxConnIdleTime = opts.MaxConnIdleTime
	}
	if cfg.MinConns > cfg.MaxConns {
		return nil, fmt.Errorf("postgres store: min_conns %d is more than max_conns %d", cfg.MinConns, cfg.MaxConns)
	}
	return cfg, nil
}

// describe names the database cfg connects to, without the password.
func describe(cfg *pgxpool.Config) string {
	return fmt.Sprintf("database %q on %s:%d as %q", cfg.ConnConfig.Database, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.User)
}

// Close closes the pool's connections.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// PoolStat reports the pool's limit and its open connections, for tests
// and metrics.
func (d *DB) PoolStat() (maxConns, open int32) {
	s := d.pool.Stat()
	return s.MaxConns(), s.TotalConns()
}

// exec runs a statement that writes and returns how many rows it changed.
func (d *DB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := d.pool.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// nanos converts t to its stored form: UTC Unix nanoseconds, or NULL for
// the zero time.
func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// fromNanos is the inverse of nanos; NULL and 0 both read as the zero time.
func fromNanos(n *int64) time.Time {
	if n == nil || *n == 0 {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// notFound maps pgx's "no rows" to store.ErrNotFound and passes any other
// error through.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}
