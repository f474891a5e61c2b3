package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
)

// connectorColumns are the columns scanConnector reads, in its order.
const connectorColumns = `id, grp, hostname, version, addr, cert_serial, created_at, last_seen`

// scanConnector reads one row of connectorColumns.
func scanConnector(row pgx.Row) (store.Connector, error) {
	var c store.Connector
	var created, seen *int64
	if err := row.Scan(&c.ID, &c.Group, &c.Hostname, &c.Version, &c.Addr, &c.CertSerial, &created, &seen); err != nil {
		return store.Connector{}, err
	}
	c.CreatedAt, c.LastSeen = fromNanos(created), fromNanos(seen)
	return c, nil
}

// AddConnector registers a newly enrolled connector (store.ErrExists on a
// duplicate ID).
func (d *DB) AddConnector(ctx context.Context, c store.Connector) error {
	n, err := d.exec(ctx,
		`INSERT INTO connectors (`+connectorColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Group, c.Hostname, c.Version, c.Addr, c.CertSerial, nanos(c.CreatedAt), nanos(c.LastSeen))
	if err != nil {
		return fmt.Errorf("postgres store: adding connector %q: %w", c.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres store: adding connector %q: %w", c.ID, store.ErrExists)
	}
	return nil
}

// GetConnector returns a connector by ID, or store.ErrNotFound.
func (d *DB) GetConnector(ctx context.Context, id string) (store.Connector, error) {
	c, err := scanConnector(d.pool.QueryRow(ctx, `SELECT `+connectorColumns+` FROM connectors WHERE id = $1`, id))
	if err != nil {
		return store.Connector{}, fmt.Errorf("postgres store: getting connector %q: %w", id, notFound(err))
	}
	return c, nil
}

// ListConnectors returns every connector ordered by group, then ID. The
// ORDER BY compares bytes (COLLATE "C"), as Go and the sqlite store do,
// whatever the database's collation.
func (d *DB) ListConnectors(ctx context.Context) ([]store.Connector, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+connectorColumns+` FROM connectors ORDER BY grp COLLATE "C", id COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing connectors: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Connector, error) { return scanConnector(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing connectors: %w", err)
	}
	return list, nil
}

// TouchConnector records a heartbeat: LastSeen, Addr and Version.
// It returns store.ErrNotFound if the connector was removed.
func (d *DB) TouchConnector(ctx context.Context, id string, seen time.Time, addr, version string) error {
	n, err := d.exec(ctx,
		`UPDATE connectors SET last_seen = $1, addr = $2, version = $3 WHERE id = $4`,
		nanos(seen), addr, version, id)
	if err != nil {
		return fmt.Errorf("postgres store: touching connector %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres store: touching connector %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// RemoveConnectorsSeenBefore deletes connectors whose LastSeen is before t
// (a zero LastSeen included) and returns their IDs, sorted. One statement
// decides who is stale and deletes them, so two nodes sweeping at once
// each report the connectors they removed, and none twice.
func (d *DB) RemoveConnectorsSeenBefore(ctx context.Context, t time.Time) ([]string, error) {
	ids, err := d.removeSeenBefore(ctx, "connectors", store.ChangeConnectorRemoved, t)
	if err != nil {
		return nil, fmt.Errorf("postgres store: removing stale connectors: %w", err)
	}
	return ids, nil
}

// RemoveConnector deletes connector id, or returns store.ErrNotFound.
func (d *DB) RemoveConnector(ctx context.Context, id string) error {
	if err := d.removeID(ctx, "connectors", store.ChangeConnectorRemoved, id); err != nil {
		return fmt.Errorf("postgres store: removing connector %q: %w", id, err)
	}
	return nil
}

// removeSeenBefore deletes the rows of table (connectors or nodes) last
// seen before t, in one statement, and records a change of kind for
// each in the same transaction. It returns their ids, sorted.
func (d *DB) removeSeenBefore(ctx context.Context, table, kind string, t time.Time) ([]string, error) {
	if t.IsZero() {
		return nil, nil // nothing is before the zero time
	}
	var ids []string
	err := d.writeTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM `+table+` WHERE last_seen IS NULL OR last_seen < $1 RETURNING id`, nanos(t))
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		slices.Sort(ids)
		return record(ctx, tx, kind, ids...)
	})
	return ids, err
}

// removeID deletes row id of table, recording a change of kind, or
// returns store.ErrNotFound.
func (d *DB) removeID(ctx context.Context, table, kind, id string) error {
	return d.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return record(ctx, tx, kind, id)
	})
}
