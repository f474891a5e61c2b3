package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the key of the transaction-scoped advisory lock that
// serialises migrations across nodes: the first 8 bytes of SHA-256
// ("gatehouse schema"), so that another application sharing the database
// is unlikely to use the same key.
const migrationLock int64 = 0x31e7_b596_e948_42d3

// migrations are the schema's versions: migrations[i] takes the schema
// from version i to i+1. Append new steps; never edit or reorder applied
// ones. Version 1 holds what the sqlite store built in its versions 1 to 6.
var migrations = []string{
	// 1: the initial schema.
	`CREATE TABLE ca (
		id       INTEGER PRIMARY KEY CHECK (id = 1), -- a single row
		cert_pem BYTEA NOT NULL,
		key_pem  BYTEA NOT NULL
	);
	CREATE TABLE tokens (
		id          TEXT PRIMARY KEY,
		secret_hash BYTEA NOT NULL,
		grp         TEXT NOT NULL,
		created_at  BIGINT,
		expires_at  BIGINT,
		used_at     BIGINT
	);
	CREATE TABLE connectors (
		id          TEXT PRIMARY KEY,
		grp         TEXT NOT NULL,
		hostname    TEXT NOT NULL,
		version     TEXT NOT NULL,
		addr        TEXT NOT NULL,
		cert_serial TEXT NOT NULL,
		created_at  BIGINT,
		last_seen   BIGINT
	);
	CREATE INDEX connectors_grp_id ON connectors (grp COLLATE "C", id COLLATE "C");
	CREATE TABLE blobs (
		key      BYTEA PRIMARY KEY,
		value    BYTEA NOT NULL,
		modified BIGINT
	);
	CREATE TABLE locks (
		name    TEXT PRIMARY KEY,
		owner   TEXT NOT NULL,
		expires BIGINT NOT NULL
	);
	CREATE INDEX locks_expires ON locks (expires);
	CREATE TABLE revocations (
		subject   TEXT PRIMARY KEY,
		before_ns BIGINT NOT NULL
	);
	CREATE TABLE revoked_sessions (
		id      TEXT PRIMARY KEY,
		expires BIGINT NOT NULL
	);
	CREATE INDEX revoked_sessions_expires ON revoked_sessions (expires);
	CREATE TABLE signins (
		id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		at        BIGINT NOT NULL,
		app       TEXT NOT NULL,
		plugin    TEXT NOT NULL,
		subject   TEXT NOT NULL,
		result    TEXT NOT NULL,
		reason    TEXT NOT NULL,
		client_ip TEXT NOT NULL
	);
	CREATE INDEX signins_at ON signins (at);
	CREATE TABLE credentials (
		app     TEXT NOT NULL,
		subject TEXT NOT NULL,
		sealed  BYTEA NOT NULL,
		PRIMARY KEY (app, subject)
	);`,
	// 2: gateway nodes, and the change feed other nodes follow. A change's
	// key is BYTEA, as blob keys are: any Go string.
	`CREATE TABLE nodes (
		id          TEXT PRIMARY KEY,
		tunnel_addr TEXT NOT NULL,
		version     TEXT NOT NULL,
		config_hash TEXT NOT NULL,
		config_at   BIGINT,
		started_at  BIGINT,
		last_seen   BIGINT,
		draining    BOOLEAN NOT NULL
	);
	CREATE TABLE changes (
		seq  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		kind TEXT NOT NULL,
		key  BYTEA NOT NULL,
		at   BIGINT NOT NULL
	);
	CREATE INDEX changes_at ON changes (at);`,
	// 3: the device certificate of a sign-in (access.require_device).
	`ALTER TABLE signins ADD COLUMN device TEXT NOT NULL DEFAULT '';`,
}

// migrate applies the migrations the database has not yet recorded in
// schema_version, in one transaction that holds migrationLock from its
// start: nodes opening a fresh database at once migrate it one after the
// other, and the later ones find nothing to do. It returns how many
// versions it applied.
func migrate(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return 0, fmt.Errorf("waiting for the migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("creating schema_version: %w", err)
	}
	var version int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&version); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	if version > len(migrations) {
		return 0, fmt.Errorf("schema version %d is newer than this build supports (%d): upgrade this node", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.Exec(ctx, migrations[i]); err != nil {
			return 0, fmt.Errorf("applying version %d: %w", i+1, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)`,
			i+1, time.Now().UnixNano()); err != nil {
			return 0, fmt.Errorf("recording version %d: %w", i+1, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("committing the migration: %w", err)
	}
	return len(migrations) - version, nil
}
