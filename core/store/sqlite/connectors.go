package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// connectorColumns are the columns scanConnector reads, in its order.
const connectorColumns = `id, grp, hostname, version, addr, cert_serial, created_at, last_seen`

// scanConnector reads one row of connectorColumns.
func scanConnector(row interface{ Scan(...any) error }) (store.Connector, error) {
	var c store.Connector
	var created, seen sql.NullInt64
	if err := row.Scan(&c.ID, &c.Group, &c.Hostname, &c.Version, &c.Addr, &c.CertSerial, &created, &seen); err != nil {
		return store.Connector{}, err
	}
	c.CreatedAt, c.LastSeen = fromNanos(created), fromNanos(seen)
	return c, nil
}

// AddConnector registers a newly enrolled connector (store.ErrExists on a
// duplicate ID).
func (d *DB) AddConnector(ctx context.Context, c store.Connector) error {
	n, err := rowsAffected(d.exec(ctx,
		`INSERT INTO connectors (`+connectorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Group, c.Hostname, c.Version, c.Addr, c.CertSerial, nanos(c.CreatedAt), nanos(c.LastSeen)))
	if err != nil {
		return fmt.Errorf("sqlite store: adding connector %q: %w", c.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite store: adding connector %q: %w", c.ID, store.ErrExists)
	}
	return nil
}

// GetConnector returns a connector by ID, or store.ErrNotFound.
func (d *DB) GetConnector(ctx context.Context, id string) (store.Connector, error) {
	c, err := scanConnector(d.db.QueryRowContext(ctx,
		`SELECT `+connectorColumns+` FROM connectors WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Connector{}, fmt.Errorf("sqlite store: getting connector %q: %w", id, store.ErrNotFound)
	case err != nil:
		return store.Connector{}, fmt.Errorf("sqlite store: getting connector %q: %w", id, err)
	}
	return c, nil
}

// ListConnectors returns every connector ordered by group, then ID.
func (d *DB) ListConnectors(ctx context.Context) ([]store.Connector, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+connectorColumns+` FROM connectors ORDER BY grp, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing connectors: %w", err)
	}
	defer rows.Close()
	var list []store.Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: listing connectors: %w", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing connectors: %w", err)
	}
	return list, nil
}

// TouchConnector records a heartbeat: LastSeen, Addr and Version.
// It returns store.ErrNotFound if the connector was removed.
func (d *DB) TouchConnector(ctx context.Context, id string, seen time.Time, addr, version string) error {
	n, err := rowsAffected(d.exec(ctx,
		`UPDATE connectors SET last_seen = ?, addr = ?, version = ? WHERE id = ?`,
		nanos(seen), addr, version, id))
	if err != nil {
		return fmt.Errorf("sqlite store: touching connector %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite store: touching connector %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// RemoveConnectorsSeenBefore deletes connectors whose LastSeen is before t (a
// zero LastSeen included) and returns their IDs, sorted.
func (d *DB) RemoveConnectorsSeenBefore(ctx context.Context, t time.Time) ([]string, error) {
	ids, err := d.removeSeenBefore(ctx, "connectors", store.ChangeConnectorRemoved, t)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: removing stale connectors: %w", err)
	}
	return ids, nil
}

// RemoveConnector deletes connector id, or returns store.ErrNotFound.
func (d *DB) RemoveConnector(ctx context.Context, id string) error {
	if err := d.removeID(ctx, "connectors", store.ChangeConnectorRemoved, id); err != nil {
		return fmt.Errorf("sqlite store: removing connector %q: %w", id, err)
	}
	return nil
}

// removeSeenBefore deletes the rows of table (connectors or nodes) last
// seen before t, in one statement (deciding who is stale and deleting
// them is atomic), and records a change of kind for each in the same
// transaction. It returns their ids.
func (d *DB) removeSeenBefore(ctx context.Context, table, kind string, t time.Time) ([]string, error) {
	if t.IsZero() {
		return nil, nil // nothing is before the zero time
	}
	var ids []string
	err := d.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = deleteReturningIDs(ctx, tx,
			`DELETE FROM `+table+` WHERE last_seen IS NULL OR last_seen < ? RETURNING id`, nanos(t))
		if err != nil {
			return err
		}
		return recordEach(ctx, tx, kind, ids)
	})
	return ids, err
}

// removeID deletes row id of table, recording a change of kind, or
// returns store.ErrNotFound.
func (d *DB) removeID(ctx context.Context, table, kind, id string) error {
	return d.writeTx(ctx, func(tx *sql.Tx) error {
		n, err := rowsAffected(tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return record(ctx, tx, kind, id)
	})
}
