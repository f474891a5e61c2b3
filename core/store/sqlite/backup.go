package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// BackupResult describes a finished backup.
type BackupResult struct {
	Bytes         int64 // size of the copy
	SchemaVersion int   // the copy's schema version (see migrations)
}

// Backup writes a consistent copy of the SQLite store at src to dst while
// other processes (a serving gateway, operator commands) keep reading and
// writing src. It uses VACUUM INTO, which copies one read transaction's
// snapshot: in WAL mode that neither blocks the writers nor sees half of
// one of their transactions.
//
// dst must not exist: Backup never overwrites a file (the error wraps
// fs.ErrExist). The copy is written to a temporary file next to dst
// (mode 0600), flushed to disk, opened and checked with PRAGMA
// integrity_check, and only then linked to dst, so dst appears complete
// or not at all. Backup does not create src or change its schema: a
// missing src is an error.
func Backup(ctx context.Context, src, dst string) (BackupResult, error) {
	if fi, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return BackupResult{}, fmt.Errorf("sqlite store: backing up %s: the store %w (check store.path and data_dir in the config)", src, fs.ErrNotExist)
	} else if err != nil {
		return BackupResult{}, fmt.Errorf("sqlite store: backing up: %w", err)
	} else if !fi.Mode().IsRegular() {
		return BackupResult{}, fmt.Errorf("sqlite store: backing up: %s is not a regular file", src)
	}
	dst, err := filepath.Abs(dst) // VACUUM INTO reads "file:..." as a URI; an absolute path never starts so
	if err != nil {
		return BackupResult{}, fmt.Errorf("sqlite store: backup file %q: %w", dst, err)
	}
	if err := refuseExisting(dst); err != nil {
		return BackupResult{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".partial-*")
	if err != nil {
		return BackupResult{}, fmt.Errorf("sqlite store: creating the backup next to %s: %w", dst, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after the link, dst keeps the data
	if err := tmp.Close(); err != nil {
		return BackupResult{}, fmt.Errorf("sqlite store: creating the backup: %w", err)
	}
	if err := vacuumInto(ctx, src, tmpName); err != nil {
		return BackupResult{}, err
	}
	if err := syncFile(tmpName); err != nil {
		return BackupResult{}, err
	}
	res, err := verifyCopy(ctx, tmpName)
	if err != nil {
		return BackupResult{}, err
	}
	if err := linkNew(tmpName, dst); err != nil {
		return BackupResult{}, err
	}
	return res, syncDir(filepath.Dir(dst))
}

// refuseExisting fails when something (a file, a directory, a dangling
// link) is at dst already.
func refuseExisting(dst string) error {
	_, err := os.Lstat(dst)
	switch {
	case err == nil:
		return fmt.Errorf("sqlite store: backup file %s: %w: refusing to overwrite it; choose a new name", dst, fs.ErrExist)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlite store: backup file %s: %w", dst, err)
	}
	return nil
}

// vacuumInto copies src's current snapshot into the empty file dst. The
// connection sets nothing on src (no journal mode, no migration): the
// busy timeout only makes it wait for a checkpoint or a writer's lock.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", fileURI(src, "mode=rw&_busy_timeout=5000"))
	if err != nil {
		return fmt.Errorf("sqlite store: opening %s: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("sqlite store: copying %s: %w (the backup must run as a user that may write the store's directory, as the gateway's user)", src, err)
	}
	return nil
}

// verifyCopy opens the copy at path and checks it: PRAGMA integrity_check
// answers "ok" and the schema version is readable.
func verifyCopy(ctx context.Context, path string) (BackupResult, error) {
	fail := func(err error) (BackupResult, error) {
		return BackupResult{}, fmt.Errorf("sqlite store: checking the backup copy: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(err)
	}
	db, err := sql.Open("sqlite", fileURI(path, "mode=ro"))
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fail(err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fail(err)
		}
		problems = append(problems, s)
	}
	if err := rows.Close(); err != nil {
		return fail(err)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fail(fmt.Errorf("integrity_check: %s", strings.Join(problems, "; ")))
	}
	res := BackupResult{Bytes: fi.Size()}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&res.SchemaVersion); err != nil {
		return fail(fmt.Errorf("reading the schema version: %w", err))
	}
	return res, nil
}

// fileURI names path as a SQLite URI with query: mode=rw never creates a
// missing file, and a name with '?' or '#' in it stays one name.
func fileURI(path, query string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + query
}

// linkNew gives the finished copy its name without replacing anything: a
// hard link fails if dst appeared in the meantime. On a file system
// without hard links it renames, after checking once more.
func linkNew(tmp, dst string) error {
	err := os.Link(tmp, dst)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		return refuseExisting(dst)
	}
	if err := refuseExisting(dst); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("sqlite store: naming the backup %s: %w", dst, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sqlite store: flushing the backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sqlite store: flushing the backup: %w", err)
	}
	return f.Close()
}

// syncDir flushes a directory, so that a new name in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sqlite store: flushing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sqlite store: flushing %s: %w", dir, err)
	}
	return nil
}
