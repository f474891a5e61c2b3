package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// nodeColumns are the columns scanNode reads, in its order.
const nodeColumns = `id, tunnel_addr, version, config_hash, config_at, started_at, last_seen, draining`

// scanNode reads one row of nodeColumns.
func scanNode(row interface{ Scan(...any) error }) (store.Node, error) {
	var n store.Node
	var configAt, started, seen sql.NullInt64
	if err := row.Scan(&n.ID, &n.TunnelAddr, &n.Version, &n.ConfigHash, &configAt, &started, &seen, &n.Draining); err != nil {
		return store.Node{}, err
	}
	n.ConfigAt, n.StartedAt, n.LastSeen = fromNanos(configAt), fromNanos(started), fromNanos(seen)
	return n, nil
}

// HeartbeatNode registers node n or refreshes it, and records a
// store.ChangeNodes when the node is new or its TunnelAddr, ConfigHash or
// Draining changed.
func (d *DB) HeartbeatNode(ctx context.Context, n store.Node) error {
	if n.ID == "" {
		return fmt.Errorf("sqlite store: registering a gateway node: empty node ID")
	}
	err := d.writeTx(ctx, func(tx *sql.Tx) error {
		var addr, hash string
		var draining bool
		err := tx.QueryRowContext(ctx, `SELECT tunnel_addr, config_hash, draining FROM nodes WHERE id = ?`, n.ID).
			Scan(&addr, &hash, &draining)
		isNew := errNoRows(err)
		if err != nil && !isNew {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO nodes (`+nodeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET tunnel_addr = excluded.tunnel_addr, version = excluded.version,
				config_hash = excluded.config_hash, config_at = excluded.config_at,
				started_at = excluded.started_at, last_seen = excluded.last_seen, draining = excluded.draining`,
			n.ID, n.TunnelAddr, n.Version, n.ConfigHash, nanos(n.ConfigAt), nanos(n.StartedAt),
			nanos(n.LastSeen), n.Draining); err != nil {
			return err
		}
		if isNew || addr != n.TunnelAddr || hash != n.ConfigHash || draining != n.Draining {
			return record(ctx, tx, store.ChangeNodes, n.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite store: heartbeat of node %q: %w", n.ID, err)
	}
	return nil
}

// ListNodes returns every registered node ordered by ID.
func (d *DB) ListNodes(ctx context.Context) ([]store.Node, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+nodeColumns+` FROM nodes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: listing nodes: %w", err)
	}
	defer rows.Close()
	var list []store.Node
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: listing nodes: %w", err)
		}
		list = append(list, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite store: listing nodes: %w", err)
	}
	return list, nil
}

// RemoveNodesSeenBefore deletes the nodes whose LastSeen is before t (a
// zero LastSeen included) and returns their IDs, sorted; each removal
// records a store.ChangeNodes.
func (d *DB) RemoveNodesSeenBefore(ctx context.Context, t time.Time) ([]string, error) {
	ids, err := d.removeSeenBefore(ctx, "nodes", store.ChangeNodes, t)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: removing stale nodes: %w", err)
	}
	return ids, nil
}

// RemoveNode deletes node id, or returns store.ErrNotFound.
func (d *DB) RemoveNode(ctx context.Context, id string) error {
	if err := d.removeID(ctx, "nodes", store.ChangeNodes, id); err != nil {
		return fmt.Errorf("sqlite store: removing node %q: %w", id, err)
	}
	return nil
}

// deleteReturningIDs runs a DELETE ... RETURNING id in tx and returns the
// IDs, sorted. It reads them all before returning, so tx is free for the
// next statement.
func deleteReturningIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// recordEach records one change of kind per key, inside tx.
func recordEach(ctx context.Context, tx *sql.Tx, kind string, keys []string) error {
	for _, k := range keys {
		if err := record(ctx, tx, kind, k); err != nil {
			return err
		}
	}
	return nil
}
