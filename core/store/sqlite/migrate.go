package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are the schema's versions: migrations[i] takes the schema from
// version i to i+1. Append new steps; never edit or reorder applied ones.
var migrations = []string{
	// 1: initial schema.
	`CREATE TABLE ca (
		id       INTEGER PRIMARY KEY CHECK (id = 1), -- a single row
		cert_pem BLOB NOT NULL,
		key_pem  BLOB NOT NULL
	) STRICT;
	CREATE TABLE tokens (
		id          TEXT PRIMARY KEY,
		secret_hash BLOB NOT NULL,
		grp         TEXT NOT NULL,
		created_at  INTEGER,
		expires_at  INTEGER,
		used_at     INTEGER
	) STRICT;
	CREATE TABLE connectors (
		id          TEXT PRIMARY KEY,
		grp         TEXT NOT NULL,
		hostname    TEXT NOT NULL,
		version     TEXT NOT NULL,
		addr        TEXT NOT NULL,
		cert_serial TEXT NOT NULL,
		created_at  INTEGER,
		last_seen   INTEGER
	) STRICT;
	CREATE INDEX connectors_grp_id ON connectors (grp, id);`,
	// 2: blobs (ACME certificates and account) and named locks.
	`CREATE TABLE blobs (
		key      TEXT PRIMARY KEY,
		value    BLOB NOT NULL,
		modified INTEGER
	) STRICT;
	CREATE TABLE locks (
		name    TEXT PRIMARY KEY,
		owner   TEXT NOT NULL,
		expires INTEGER NOT NULL
	) STRICT;`,
	// 3: session revocation and the sign-in log.
	`CREATE TABLE revocations (
		subject TEXT PRIMARY KEY,
		before  INTEGER NOT NULL
	) STRICT;
	CREATE TABLE signins (
		id        INTEGER PRIMARY KEY AUTOINCREMENT,
		at        INTEGER NOT NULL,
		app       TEXT NOT NULL,
		plugin    TEXT NOT NULL,
		subject   TEXT NOT NULL,
		result    TEXT NOT NULL,
		reason    TEXT NOT NULL,
		client_ip TEXT NOT NULL
	) STRICT;`,
	// 4: the password vault's sealed credentials.
	`CREATE TABLE credentials (
		app     TEXT NOT NULL,
		subject TEXT NOT NULL,
		sealed  BLOB NOT NULL,
		PRIMARY KEY (app, subject)
	) STRICT;`,
	// 5: housekeeping deletes by age.
	`CREATE INDEX signins_at ON signins (at);
	CREATE INDEX locks_expires ON locks (expires);`,
	// 6: sign-outs, each a session refused until its expiry.
	`CREATE TABLE revoked_sessions (
		id      TEXT PRIMARY KEY,
		expires INTEGER NOT NULL
	) STRICT;
	CREATE INDEX revoked_sessions_expires ON revoked_sessions (expires);`,
	// 7: gateway nodes, and the change feed other nodes follow.
	`CREATE TABLE nodes (
		id          TEXT PRIMARY KEY,
		tunnel_addr TEXT NOT NULL,
		version     TEXT NOT NULL,
		config_hash TEXT NOT NULL,
		config_at   INTEGER,
		started_at  INTEGER,
		last_seen   INTEGER,
		draining    INTEGER NOT NULL
	) STRICT;
	CREATE TABLE changes (
		seq  INTEGER PRIMARY KEY AUTOINCREMENT,
		kind TEXT NOT NULL,
		key  TEXT NOT NULL,
		at   INTEGER NOT NULL
	) STRICT;
	CREATE INDEX changes_at ON changes (at);`,
	// 8: the device certificate of a sign-in (access.require_device).
	`ALTER TABLE signins ADD COLUMN device TEXT NOT NULL DEFAULT '';`,
}

// migrate applies the migrations db has not yet recorded in schema_version,
// in one transaction. The transaction begins IMMEDIATE (see params), so
// processes opening a fresh file at once migrate it one after the other and
// the later ones find nothing to do.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("creating schema_version: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&version); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build supports (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("applying version %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`,
			i+1, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("recording version %d: %w", i+1, err)
		}
	}
	return tx.Commit()
}
