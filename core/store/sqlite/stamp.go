package sqlite

import (
	"errors"
	"io/fs"
	"os"

	"github.com/gatehouse/gatehouse/core/store"
)

// Stamp implements store.Stamper: every commit, by any process, writes
// the WAL (or, when the WAL is checkpointed, the database file), which
// changes its size or modification time. A missing WAL (no connection
// open) counts as size and time 0.
func (d *DB) Stamp() (store.Stamp, error) {
	db, err := os.Stat(d.path)
	if err != nil {
		return store.Stamp{}, err
	}
	s := store.Stamp{Size: db.Size(), ModTime: db.ModTime().UnixNano()}
	wal, err := os.Stat(d.path + "-wal")
	switch {
	case err == nil:
		s.WALSize, s.WALModTime = wal.Size(), wal.ModTime().UnixNano()
	case !errors.Is(err, fs.ErrNotExist):
		return store.Stamp{}, err
	}
	return s, nil
}

var _ store.Stamper = (*DB)(nil)
