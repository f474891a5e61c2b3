package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gatehouse/gatehouse/core/store"
)

var _ store.Lister = (*DB)(nil)

// OpenReadOnly opens the existing store at path for reading only, as the
// source of "gatehouse store migrate": it creates nothing, changes no
// schema (a store whose schema is not this build's is refused) and
// cannot write (SQLite opens the file with mode=ro).
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if fi, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sqlite store: %s: the store %w (check the path: the gateway's store is store.path, by default DATA_DIR/gatehouse.db)", path, fs.ErrNotExist)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("sqlite store: %s is not a regular file", path)
	}
	db, err := sql.Open("sqlite", fileURI(path, "mode=ro&_busy_timeout=5000"))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: opening %s: %w", path, err)
	}
	fail := func(err error) (*DB, error) {
		db.Close()
		return nil, err
	}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&version); err != nil {
		return fail(fmt.Errorf("sqlite store: %s is not a Gatehouse store (reading its schema version: %w)", path, err))
	}
	if version != len(migrations) {
		return fail(fmt.Errorf("sqlite store: %s has schema version %d, this build reads version %d: "+
			"run this version's gateway on it once (it brings the schema up to date), stop it, and try again", path, version, len(migrations)))
	}
	d := &DB{db: db, path: path}
	if d.revocation, err = db.PrepareContext(ctx, revocationQuery); err != nil {
		return fail(fmt.Errorf("sqlite store: preparing the revocation query: %w", err))
	}
	return d, nil
}

// ListTokens returns every enrollment token, used or not, by ID.
func (d *DB) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := d.db.QueryContext(ctx,
		`SELECT id, secret_hash, grp, created_at, expires_at, used_at FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		var t store.Token
		var created, expires, used sql.NullInt64
		if err := rows.Scan(&t.ID, &t.SecretHash, &t.Group, &created, &expires, &used); err != nil {
			return nil, fmt.Errorf("sqlite store: listing tokens: %w", err)
		}
		t.CreatedAt, t.ExpiresAt, t.UsedAt = fromNanos(created), fromNanos(expires), fromNanos(used)
		out = append(out, t)
	}
	return out, rows.Err()
}

// ListCredentials returns every sealed vault credential, by app and
// subject, as stored (sealed).
func (d *DB) ListCredentials(ctx context.Context) ([]store.Credential, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT app, subject, sealed FROM credentials ORDER BY app, subject`)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing credentials: %w", err)
	}
	defer rows.Close()
	var out []store.Credential
	for rows.Next() {
		var c store.Credential
		if err := rows.Scan(&c.App, &c.Subject, &c.Sealed); err != nil {
			return nil, fmt.Errorf("sqlite store: listing credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
