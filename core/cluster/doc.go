// Package cluster lets several gateway nodes share one store: each node's
// membership (a heartbeat row per node, dropped after three missed
// intervals), a follower of the store's change feed, and a replica of the
// session revocations that signed-in requests check in memory.
//
// There is no home-made cluster protocol: the store is the only channel
// between nodes. A write other nodes must see records a store.Change in
// the same transaction; the Follower reads the feed after its cursor and
// dispatches each change by kind. PostgreSQL wakes followers at once
// (LISTEN/NOTIFY through store.Listen) and polling every second covers a
// lost notification; SQLite has no notifications, so followers poll every
// 250 ms. A node that fell behind the feed's cleanup reloads its state.
//
// While the store is unreachable a node serves from its last known state
// (Follower.Healthy says so): the Revocations replica still refuses every
// session revoked before the outage began, because it answers from memory.
package cluster
