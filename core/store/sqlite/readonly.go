package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"time"
)

// maxIdleConns is how many connections the pool keeps open between uses.
// Every signed-in request reads the revocations, so under load many
// connections are in use at once; opening a SQLite connection parses the
// schema, which cost more than the reads themselves when only
// database/sql's default of 2 were kept. idleFor lets a burst's extra
// connections go.
const (
	maxIdleConns = 32
	idleFor      = 5 * time.Minute
)

// exec runs a statement that writes. SQLite opens a connection read-only
// when the file cannot be opened for writing at that moment (a read-only
// mount, an immutable flag), and such a connection stays read-only after
// the file is writable again. A write refused with SQLITE_READONLY while
// the files are writable is therefore tried once more, on a fresh
// connection; a refused statement changed nothing, so running it again is
// safe.
func (d *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := d.db.ExecContext(ctx, query, args...)
	if d.dropStaleConns(err) {
		res, err = d.db.ExecContext(ctx, query, args...)
	}
	return res, err
}

// dropStaleConns closes the pool's idle connections when err is
// SQLITE_READONLY although the database files are writable: some of them
// may have been opened read-only while they were not. It reports whether
// it did, so the caller may try again. While the files stay unwritable it
// does nothing: fresh connections would not help, and the warm ones still
// serve reads.
func (d *DB) dropStaleConns(err error) bool {
	if !isReadOnly(err) || !writable(d.path) {
		return false
	}
	d.db.SetMaxIdleConns(0) // closes the idle connections
	d.db.SetMaxIdleConns(maxIdleConns)
	return true
}

// isReadOnly reports whether err is SQLite's SQLITE_READONLY or one of its
// extended codes (the primary code is the low byte).
func isReadOnly(err error) bool {
	var se interface{ Code() int }
	return errors.As(err, &se) && se.Code()&0xff == 8
}

// writable reports whether this process can open the database file and
// its -wal and -shm files (those that exist) for writing.
func writable(path string) bool {
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false
		}
		f.Close()
	}
	return true
}
