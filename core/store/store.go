// Package store defines the gateway's persistent state: the connector CA,
// enrollment tokens, the connector registry, and blobs with named locks
// (ACME certificates and account, shared by every gateway node). Implementations live in
// sub-packages: sqlite (one file, the default, for one node) and postgres
// (one PostgreSQL database shared by several gateway nodes). Each must be
// safe for concurrent use by several processes sharing the same database
// (gateway nodes and operator commands such as "gatehouse token create"),
// and passes the conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every implementation returns (wrapped or not; test with errors.Is).
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrUsed     = errors.New("already used")
)

// Store is the gateway's persistent state.
type Store interface {
	// LoadCA returns the connector CA, or ErrNotFound before the first SaveCA.
	LoadCA(ctx context.Context) (CA, error)
	// SaveCA stores the CA once; a second call returns ErrExists (so two
	// gateway nodes racing at first start agree on one CA: the loser reloads).
	SaveCA(ctx context.Context, ca CA) error

	// CreateToken stores a new enrollment token (ErrExists on a duplicate ID).
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns a token by ID, or ErrNotFound.
	GetToken(ctx context.Context, id string) (Token, error)
	// UseToken marks a token used at time at, atomically: exactly one caller
	// succeeds; later callers get ErrUsed; an unknown ID gets ErrNotFound.
	UseToken(ctx context.Context, id string, at time.Time) error
	// DeleteExpiredTokens removes tokens that expired before t and returns how many.
	DeleteExpiredTokens(ctx context.Context, t time.Time) (int, error)

	// AddConnector registers a newly enrolled connector (ErrExists on a duplicate ID).
	AddConnector(ctx context.Context, c Connector) error
	// GetConnector returns a connector by ID, or ErrNotFound.
	GetConnector(ctx context.Context, id string) (Connector, error)
	// ListConnectors returns every connector ordered by group, then ID.
	ListConnectors(ctx context.Context) ([]Connector, error)
	// TouchConnector records a heartbeat: LastSeen, Addr and Version.
	// ErrNotFound if the connector was removed.
	TouchConnector(ctx context.Context, id string, seen time.Time, addr, version string) error
	// RemoveConnectorsSeenBefore deletes connectors whose LastSeen is before t
	// and returns their IDs.
	RemoveConnectorsSeenBefore(ctx context.Context, t time.Time) ([]string, error)
	// RemoveConnector deletes connector id ("gatehouse connectors remove"),
	// or returns ErrNotFound. Its certificate is refused from then on.
	RemoveConnector(ctx context.Context, id string) error

	// PutBlob stores value under key, replacing any earlier value. Keys are
	// "/"-separated paths; TLS certificates and the ACME account live here.
	PutBlob(ctx context.Context, key string, value []byte, modified time.Time) error
	// GetBlob returns the blob at key, or ErrNotFound.
	GetBlob(ctx context.Context, key string) (Blob, error)
	// StatBlob is GetBlob without the value (Blob.Size is set).
	StatBlob(ctx context.Context, key string) (Blob, error)
	// DeleteBlobs deletes key and every key below it (prefix key + "/") and
	// returns how many it deleted.
	DeleteBlobs(ctx context.Context, key string) (int, error)
	// ListBlobs returns every key that starts with prefix, sorted.
	ListBlobs(ctx context.Context, prefix string) ([]string, error)

	// RevokeSessions ends every session of subject that started before
	// t; later calls with a later t move the line forward.
	RevokeSessions(ctx context.Context, subject string, t time.Time) error
	// RevokedBefore returns the time before which subject's sessions are
	// revoked, or the zero time.
	RevokedBefore(ctx context.Context, subject string) (time.Time, error)
	// RevokeSession records a sign-out: the session id is refused until
	// expires (its own expiry), on every node sharing the store.
	// SessionRevoked reports whether id was revoked and has not yet
	// expired; DeleteExpiredSessionRevocations removes the records that
	// expired before t and returns how many.
	RevokeSession(ctx context.Context, id string, expires time.Time) error
	SessionRevoked(ctx context.Context, id string) (bool, error)
	// Revocation answers both questions a signed-in request asks, in one
	// read: subject's revocation line (RevokedBefore) and, when id is not
	// "", whether that session was signed out (SessionRevoked).
	Revocation(ctx context.Context, subject, id string) (before time.Time, signedOut bool, err error)
	DeleteExpiredSessionRevocations(ctx context.Context, t time.Time) (int, error)

	// PutCredential stores sealed vault credentials of subject for app,
	// replacing earlier ones; GetCredential returns them or ErrNotFound;
	// DeleteCredential removes them (no error if there were none). The
	// store only ever holds what the gateway cannot open.
	PutCredential(ctx context.Context, app, subject string, sealed []byte) error
	GetCredential(ctx context.Context, app, subject string) ([]byte, error)
	DeleteCredential(ctx context.Context, app, subject string) error

	// AddSignIn records one sign-in or denial in the sign-in log.
	AddSignIn(ctx context.Context, s SignIn) error
	// ListSignIns returns the latest limit records, newest first.
	ListSignIns(ctx context.Context, limit int) ([]SignIn, error)
	// DeleteSignInsBefore removes sign-in records older than t and
	// returns how many.
	DeleteSignInsBefore(ctx context.Context, t time.Time) (int, error)

	// TryLock takes the named lock for owner until expires, atomically: it
	// succeeds (true) if nobody holds the lock, the holder's expiry is before
	// now, or owner already holds it (which extends it). Processes sharing
	// the database exclude each other.
	TryLock(ctx context.Context, name, owner string, now, expires time.Time) (bool, error)
	// DeleteExpiredLocks removes locks that expired before t (they no
	// longer hold anything) and returns how many.
	DeleteExpiredLocks(ctx context.Context, t time.Time) (int, error)
	// Unlock releases the lock if owner holds it; otherwise it does nothing.
	Unlock(ctx context.Context, name, owner string) error

	// HeartbeatNode registers gateway node n or refreshes it (an upsert
	// by ID): what it advertises and LastSeen. ListNodes returns every
	// registered node ordered by ID; RemoveNodesSeenBefore deletes those
	// whose LastSeen is before t and returns their IDs; RemoveNode
	// deletes one (ErrNotFound if unknown). Each change of the node list
	// (a node added, removed, or its TunnelAddr, ConfigHash or Draining
	// changed) records a ChangeNodes.
	HeartbeatNode(ctx context.Context, n Node) error
	ListNodes(ctx context.Context) ([]Node, error)
	RemoveNodesSeenBefore(ctx context.Context, t time.Time) ([]string, error)
	RemoveNode(ctx context.Context, id string) error

	// Changes returns the change records with Seq after after, oldest
	// first, at most limit of them; LastChange returns the newest Seq (0
	// when there is none). Writes that other nodes must see record one
	// (see the Change kinds) in the same transaction as the write.
	// DeleteChangesBefore removes records older than t and returns how
	// many (a node that fell that far behind reloads its state instead).
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	LastChange(ctx context.Context) (int64, error)
	DeleteChangesBefore(ctx context.Context, t time.Time) (int, error)
	// Listen sends on wake (without blocking: a full channel already
	// holds a wake-up) whenever another process may have recorded a
	// change, until ctx is done or the connection fails (the error says
	// which; callers poll Changes meanwhile and call Listen again). A
	// store without notifications (sqlite) returns ErrNoListen at once:
	// its callers only poll.
	Listen(ctx context.Context, wake chan<- struct{}) error

	// ListRevocations returns every subject's revocation line, and
	// ListSessionRevocations every sign-out that has not expired by now:
	// the state a node loads at start and then follows through Changes.
	ListRevocations(ctx context.Context) ([]Revocation, error)
	ListSessionRevocations(ctx context.Context, now time.Time) ([]SessionRevocation, error)

	Close() error
}

// A Stamper is a store whose commits, by any process, show without a
// query: Stamp changes with every commit (SQLite: the size and
// modification time of the database file and its WAL, one stat each).
// Latest is when the store was last written, as far as Stamp can tell.
type Stamper interface {
	Stamp() (Stamp, error)
}

// Stamp is a Stamper's mark of the store's state; compare with ==.
type Stamp struct {
	Size, ModTime, WALSize, WALModTime int64 // ModTime: UnixNano
}

// Latest is the later of the two modification times.
func (s Stamp) Latest() time.Time { return time.Unix(0, max(s.ModTime, s.WALModTime)) }

// ErrNoListen is Listen's answer from a store without notifications.
var ErrNoListen = errors.New("this store sends no change notifications: poll Changes")

// Change kinds, and what Change.Key holds for each.
const (
	ChangeRevokeSessions   = "revoke_sessions"   // RevokeSessions: the subject
	ChangeRevokeSession    = "revoke_session"    // RevokeSession: the session id
	ChangeConnectorRemoved = "connector_removed" // RemoveConnector, RemoveConnectorsSeenBefore: the connector id
	ChangeTokenUsed        = "token_used"        // UseToken: the token id
	ChangeCredential       = "credential"        // PutCredential, DeleteCredential: app + "/" + subject
	ChangeBlob             = "blob"              // PutBlob, DeleteBlobs: the key (for DeleteBlobs, the key deleted under)
	ChangeNodes            = "nodes"             // the node list changed: the node id
)

// Change is one record of the change feed.
type Change struct {
	Seq  int64 // increasing; later writes have larger Seq once committed
	Kind string
	Key  string
	At   time.Time
}

// Revocation is one subject's revocation line: sessions that started
// before Before are refused.
type Revocation struct {
	Subject string
	Before  time.Time
}

// SessionRevocation is one sign-out, refused until Expires.
type SessionRevocation struct {
	ID      string
	Expires time.Time
}

// Node is one gateway node sharing the store.
type Node struct {
	ID         string
	TunnelAddr string // host:port connectors dial to reach this node's tunnel listener
	Version    string
	ConfigHash string    // SHA-256 (hex) of the config file it applied
	ConfigAt   time.Time // when it applied that config
	StartedAt  time.Time
	LastSeen   time.Time
	Draining   bool // shutting down: connectors and load balancers move away
}

// CA is the private CA that signs the tunnel listener's certificate and
// every connector's client certificate. Both fields are PEM.
type CA struct {
	CertPEM []byte
	KeyPEM  []byte
}

// Token is a one-time enrollment token. Only a hash of its secret is stored.
type Token struct {
	ID         string
	SecretHash []byte // SHA-256 of the secret
	Group      string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time // zero until used
}

// Blob is one stored value with its key and modification time.
type Blob struct {
	Key      string
	Value    []byte // nil from StatBlob
	Size     int64
	Modified time.Time
}

// SignIn is one record of the sign-in log.
type SignIn struct {
	At       time.Time
	App      string
	Plugin   string // the Authenticator ("idp")
	Subject  string // "" when nobody was identified
	Result   string // "signed_in", "denied", "challenged", "failed"
	Reason   string
	ClientIP string
	Device   string // the device certificate, "SUBJECT (serial HEX)"; "" without one
}

// Connector is one enrolled connector.
type Connector struct {
	ID         string
	Group      string
	Hostname   string // as the connector reported it at enrollment
	Version    string
	Addr       string // remote address of its latest tunnel
	CertSerial string // hex serial of its client certificate
	CreatedAt  time.Time
	LastSeen   time.Time
}
