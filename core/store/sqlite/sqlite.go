// Package sqlite implements store.Store on a single SQLite file, using the
// pure-Go modernc.org/sqlite driver (no cgo).
//
// Several processes may share one file: a serving gateway and operator
// commands such as "gatehouse token create". The database runs in WAL mode
// with a busy timeout, so readers never block and writers queue for the lock.
// Every write is a single statement whose outcome is decided by SQLite
// itself (INSERT ... ON CONFLICT DO NOTHING, UPDATE ... WHERE used_at IS
// NULL, DELETE ... RETURNING), so no check-then-act race spans two
// statements. A write other nodes must see also records a row of the
// change feed (see store.Change) in the same transaction (changes.go).
//
// Times are stored as UTC Unix nanoseconds (INTEGER); the zero time.Time is
// stored as NULL and read back as time.Time{}. Like time.Time.Before, the
// zero time counts as before every other time when expired tokens and stale
// connectors are swept. Times must lie between the years 1678 and 2262, the
// range of an int64 count of nanoseconds.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/gatehouse/gatehouse/core/store"
)

var _ store.Store = (*DB)(nil)

// params configure every connection in the pool. busy_timeout makes a writer
// wait up to 5s for another process's lock instead of failing with
// SQLITE_BUSY; _txlock=immediate takes the write lock at BEGIN, so the
// migration transaction cannot deadlock against another process's.
const params = "?_busy_timeout=5000&_foreign_keys=1&_journal_mode=WAL&_txlock=immediate"

// DB is a store.Store backed by one SQLite file. It is safe for concurrent
// use, also by several processes opening the same file.
type DB struct {
	db         *sql.DB
	path       string    // the database file, to check that it is writable again
	revocation *sql.Stmt // Revocation's query, prepared once: it runs on every signed-in request
}

// Open opens the database at path, creating its parent directory (mode 0700)
// and the file (mode 0600) if missing, and brings its schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite store: opening %q: path must not contain '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite store: creating directory: %w", err)
	}
	// Create the file ourselves: SQLite would use 0644. Its -wal and -shm
	// files inherit the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: creating database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite store: creating database file: %w", err)
	}

	db, err := sql.Open("sqlite", path+params)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: opening %q: %w", path, err)
	}
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(idleFor)
	if err := migrateWhenFree(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store: migrating %q: %w", path, err)
	}
	d := &DB{db: db, path: path}
	if d.revocation, err = db.PrepareContext(ctx, revocationQuery); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store: preparing the revocation query: %w", err)
	}
	return d, nil
}

// migrateWhenFree runs migrate, trying again for up to busyWait while
// the file is busy. busy_timeout does not cover everything a fresh file
// meets when several processes open it at once: switching it to WAL, or
// reading a WAL index another connection is building, can fail with
// SQLITE_BUSY at once, without waiting (seen in some runs of
// secrets.TestLoadCreatesOnceAndPersists, four opens at once).
func migrateWhenFree(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyWait)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		err := migrate(ctx, db)
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// busyWait is how long a busy file is waited for, as busy_timeout in params.
const busyWait = 5 * time.Second

// isBusy reports whether err is SQLite's SQLITE_BUSY (or one of its
// extended codes).
func isBusy(err error) bool {
	var se interface{ Code() int }
	return errors.As(err, &se) && se.Code()&0xff == 5
}

// Close closes the database.
func (d *DB) Close() error {
	d.revocation.Close()
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("sqlite store: closing: %w", err)
	}
	return nil
}

// nanos converts t to its stored form: UTC Unix nanoseconds, or NULL for the
// zero time.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// fromNanos is the inverse of nanos; NULL and 0 both read as the zero time.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid || n.Int64 == 0 {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// rowsAffected returns how many rows the statement that returned res changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
