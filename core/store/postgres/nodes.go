package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
)

// nodeColumns are the columns scanNode reads, in its order.
const nodeColumns = `id, tunnel_addr, version, config_hash, config_at, started_at, last_seen, draining`

// scanNode reads one row of nodeColumns.
func scanNode(row pgx.Row) (store.Node, error) {
	var n store.Node
	var configAt, started, seen *int64
	if err := row.Scan(&n.ID, &n.TunnelAddr, &n.Version, &n.ConfigHash, &configAt, &started, &seen, &n.Draining); err != nil {
		return store.Node{}, err
	}
	n.ConfigAt, n.StartedAt, n.LastSeen = fromNanos(configAt), fromNanos(started), fromNanos(seen)
	return n, nil
}

// HeartbeatNode registers node n or refreshes it, and records a
// store.ChangeNodes when the node is new or its TunnelAddr, ConfigHash or
// Draining changed. INSERT ... ON CONFLICT DO NOTHING decides whether the
// node is new; otherwise its row is locked (FOR UPDATE) before it is
// compared and updated, so two heartbeats of one ID cannot both miss a
// change.
func (d *DB) HeartbeatNode(ctx context.Context, n store.Node) error {
	if n.ID == "" {
		return errors.New("postgres store: registering a gateway node: empty node ID")
	}
	args := []any{n.ID, n.TunnelAddr, n.Version, n.ConfigHash, nanos(n.ConfigAt), nanos(n.StartedAt), nanos(n.LastSeen), n.Draining}
	err := d.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO nodes (`+nodeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO NOTHING`, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return record(ctx, tx, store.ChangeNodes, n.ID)
		}
		var addr, hash string
		var draining bool
		if err := tx.QueryRow(ctx, `SELECT tunnel_addr, config_hash, draining FROM nodes WHERE id = $1 FOR UPDATE`, n.ID).
			Scan(&addr, &hash, &draining); err != nil {
			return err // pgx.ErrNoRows: removed meanwhile; the next heartbeat adds it
		}
		if _, err := tx.Exec(ctx, `UPDATE nodes SET tunnel_addr = $2, version = $3, config_hash = $4,
			config_at = $5, started_at = $6, last_seen = $7, draining = $8 WHERE id = $1`, args...); err != nil {
			return err
		}
		if addr != n.TunnelAddr || hash != n.ConfigHash || draining != n.Draining {
			return record(ctx, tx, store.ChangeNodes, n.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres store: heartbeat of node %q: %w", n.ID, err)
	}
	return nil
}

// ListNodes returns every registered node ordered by ID (byte-wise).
func (d *DB) ListNodes(ctx context.Context) ([]store.Node, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+nodeColumns+` FROM nodes ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing nodes: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Node, error) { return scanNode(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing nodes: %w", err)
	}
	return list, nil
}

// RemoveNodesSeenBefore deletes the nodes whose LastSeen is before t (a
// zero LastSeen included) and returns their IDs, sorted; each removal
// records a store.ChangeNodes. One statement decides who is stale and
// deletes them, so nodes sweeping at once report each removal once.
func (d *DB) RemoveNodesSeenBefore(ctx context.Context, t time.Time) ([]string, error) {
	ids, err := d.removeSeenBefore(ctx, "nodes", store.ChangeNodes, t)
	if err != nil {
		return nil, fmt.Errorf("postgres store: removing stale nodes: %w", err)
	}
	return ids, nil
}

// RemoveNode deletes node id, or returns store.ErrNotFound.
func (d *DB) RemoveNode(ctx context.Context, id string) error {
	if err := d.removeID(ctx, "nodes", store.ChangeNodes, id); err != nil {
		return fmt.Errorf("postgres store: removing node %q: %w", id, err)
	}
	return nil
}

// ListRevocations returns every subject's revocation line, ordered by
// subject.
func (d *DB) ListRevocations(ctx context.Context) ([]store.Revocation, error) {
	rows, err := d.pool.Query(ctx, `SELECT subject, before_ns FROM revocations ORDER BY subject COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing revocations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Revocation, error) {
		var rv store.Revocation
		var before int64
		err := r.Scan(&rv.Subject, &before)
		rv.Before = time.Unix(0, before)
		return rv, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing revocations: %w", err)
	}
	return out, nil
}

// ListSessionRevocations returns the sign-outs whose session has not
// expired by now (Expires not before now), ordered by ID.
func (d *DB) ListSessionRevocations(ctx context.Context, now time.Time) ([]store.SessionRevocation, error) {
	rows, err := d.pool.Query(ctx,
		`SELECT id, expires FROM revoked_sessions WHERE expires >= $1 ORDER BY id COLLATE "C"`, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing session revocations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SessionRevocation, error) {
		var rv store.SessionRevocation
		var expires int64
		err := r.Scan(&rv.ID, &expires)
		rv.Expires = time.Unix(0, expires)
		return rv, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres store: listing session revocations: %w", err)
	}
	return out, nil
}
