package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
)

// ErrNotEmpty is Import's answer when the database already holds data.
var ErrNotEmpty = errors.New("the target database is not empty")

// dataTables are the tables a store.Snapshot fills, as store.Snapshot.Counts
// names them. Runtime state (locks, nodes, the change feed) is not data.
var dataTables = []struct{ name, table string }{
	{"ca", "ca"}, {"tokens", "tokens"}, {"connectors", "connectors"}, {"blobs", "blobs"},
	{"revocations", "revocations"}, {"sign-outs", "revoked_sessions"},
	{"credentials", "credentials"}, {"sign-ins", "signins"},
}

// querier is what counting rows needs: a connection or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// countRows returns the rows of each data table; a table that does not
// exist yet (a database no gateway has opened) counts 0.
func countRows(ctx context.Context, q querier) ([]store.TableCount, error) {
	out := make([]store.TableCount, 0, len(dataTables))
	for _, t := range dataTables {
		var exists bool
		if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, t.table).Scan(&exists); err != nil {
			return nil, fmt.Errorf("looking for table %s: %w", t.table, err)
		}
		n := 0
		if exists {
			if err := q.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t.table}.Sanitize()).Scan(&n); err != nil {
				return nil, fmt.Errorf("counting the rows of %s: %w", t.table, err)
			}
		}
		out = append(out, store.TableCount{Table: t.name, N: n})
	}
	return out, nil
}

// Inspect connects to the database that dsn names without changing
// anything (no schema migration) and returns how many rows each data
// table holds, for "gatehouse store migrate --dry-run".
func Inspect(ctx context.Context, dsn string) ([]store.TableCount, error) {
	cfg, err := poolConfig(dsn, Options{})
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres store: connecting to %s: %s", describe(cfg), Redact(err.Error(), dsn))
	}
	defer conn.Close(context.Background())
	counts, err := countRows(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %s: %s", describe(cfg), Redact(err.Error(), dsn))
	}
	return counts, nil
}

// Import writes snap into the database in one transaction, which first
// locks the data tables and checks that they are empty: it writes all of
// snap or nothing, and never mixes it with data already there (the error
// then wraps ErrNotEmpty and lists what the database holds). It records
// no change-feed entries: nodes started on the database load its state.
func (d *DB) Import(ctx context.Context, snap *store.Snapshot) error {
	where := describe(d.pool.Config())
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres store: importing into %s: %w", where, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	names := make([]string, len(dataTables))
	for i, t := range dataTables {
		names[i] = t.table
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("postgres store: importing into %s: locking the tables: %w", where, err)
	}
	counts, err := countRows(ctx, tx)
	if err != nil {
		return fmt.Errorf("postgres store: importing into %s: %w", where, err)
	}
	var held []string
	for _, c := range counts {
		if c.N > 0 {
			held = append(held, fmt.Sprintf("%s %d", c.Table, c.N))
		}
	}
	if len(held) > 0 {
		return fmt.Errorf("postgres store: %s: %w (it holds %s): nothing was copied; "+
			"copy into a new, empty database (CREATE DATABASE ...) instead", where, ErrNotEmpty, strings.Join(held, ", "))
	}
	if err := copyAll(ctx, tx, snap); err != nil {
		return fmt.Errorf("postgres store: importing into %s: %w (nothing was copied)", where, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres store: importing into %s: committing: %w (nothing was copied)", where, err)
	}
	return nil
}

// copyAll writes every table of snap with COPY inside tx.
func copyAll(ctx context.Context, tx pgx.Tx, snap *store.Snapshot) error {
	var ca [][]any
	if snap.CA != nil {
		ca = [][]any{{1, snap.CA.CertPEM, snap.CA.KeyPEM}}
	}
	tables := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"ca", []string{"id", "cert_pem", "key_pem"}, ca},
		{"tokens", []string{"id", "secret_hash", "grp", "created_at", "expires_at", "used_at"}, rowsOf(snap.Tokens, func(t store.Token) []any {
			return []any{t.ID, t.SecretHash, t.Group, nanos(t.CreatedAt), nanos(t.ExpiresAt), nanos(t.UsedAt)}
		})},
		{"connectors", []string{"id", "grp", "hostname", "version", "addr", "cert_serial", "created_at", "last_seen"}, rowsOf(snap.Connectors, func(c store.Connector) []any {
			return []any{c.ID, c.Group, c.Hostname, c.Version, c.Addr, c.CertSerial, nanos(c.CreatedAt), nanos(c.LastSeen)}
		})},
		{"blobs", []string{"key", "value", "modified"}, rowsOf(snap.Blobs, func(b store.Blob) []any {
			return []any{[]byte(b.Key), b.Value, nanos(b.Modified)}
		})},
		{"revocations", []string{"subject", "before_ns"}, rowsOf(snap.Revocations, func(r store.Revocation) []any {
			return []any{r.Subject, r.Before.UnixNano()}
		})},
		{"revoked_sessions", []string{"id", "expires"}, rowsOf(snap.SessionRevocations, func(r store.SessionRevocation) []any {
			return []any{r.ID, r.Expires.UnixNano()}
		})},
		{"credentials", []string{"app", "subject", "sealed"}, rowsOf(snap.Credentials, func(c store.Credential) []any {
			return []any{c.App, c.Subject, c.Sealed}
		})},
		{"signins", []string{"at", "app", "plugin", "subject", "result", "reason", "client_ip", "device"}, rowsOf(snap.SignIns, func(s store.SignIn) []any {
			return []any{s.At.UnixNano(), s.App, s.Plugin, s.Subject, s.Result, s.Reason, s.ClientIP, s.Device}
		})},
	}
	for _, t := range tables {
		if len(t.rows) == 0 {
			continue
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows))
		if err != nil {
			return fmt.Errorf("copying %s: %w", t.table, err)
		}
		if n != int64(len(t.rows)) {
			return fmt.Errorf("copying %s: %d rows written, want %d", t.table, n, len(t.rows))
		}
	}
	return nil
}

// rowsOf maps records to COPY rows.
func rowsOf[T any](recs []T, row func(T) []any) [][]any {
	out := make([][]any, len(recs))
	for i, r := range recs {
		out[i] = row(r)
	}
	return out
}
