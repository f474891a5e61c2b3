package metrics

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/core/store"
)

// Store wraps s so that every call is timed (gatehouse_store_seconds)
// and every failure counted (gatehouse_store_errors_total); failed is
// called after each failure (the admin listener's store probe then looks
// at once). It returns s itself when m is nil.
func (m *Metrics) Store(s store.Store, failed func()) store.Store {
	if m == nil {
		return s
	}
	if failed == nil {
		failed = func() {}
	}
	t := &timedStore{Store: s, m: m, failed: failed}
	if st, ok := s.(store.Stamper); ok {
		// The stamp is the wrapper's too: without it the cluster
		// follower would take a SQLite store for one that notifies, and
		// answer revocation checks from memory between polls.
		return &timedStamper{timedStore: t, stamper: st}
	}
	return t
}

// timedStamper is a timedStore of a store.Stamper. Stamp is a stat or two
// per signed-in request, not a query: it is passed on untimed.
type timedStamper struct {
	*timedStore
	stamper store.Stamper
}

func (s *timedStamper) Stamp() (store.Stamp, error) { return s.stamper.Stamp() }

// timedStore is a store.Store that measures the one it wraps. It embeds
// it, so a method added to store.Store later works at once, untimed
// until it is added here.
type timedStore struct {
	store.Store
	m      *Metrics
	failed func()
	ops    [numOps]atomic.Pointer[opMetrics]
}

type opMetrics struct {
	seconds prometheus.Observer
	errors  prometheus.Counter
}

// observe records one call of op that started at start and ended with
// *err. Not found, already exists and already used are answers, not
// failures.
func (s *timedStore) observe(op int, start time.Time, err *error) {
	p := &s.ops[op]
	om := p.Load()
	if om == nil {
		om = &opMetrics{seconds: s.m.storeSeconds.WithLabelValues(opNames[op]), errors: s.m.storeErrors.WithLabelValues(opNames[op])}
		p.Store(om)
	}
	om.seconds.Observe(time.Since(start).Seconds())
	if e := *err; e != nil && !errors.Is(e, store.ErrNotFound) && !errors.Is(e, store.ErrExists) && !errors.Is(e, store.ErrUsed) {
		om.errors.Inc()
		s.failed()
	}
}

// Close closes the wrapped store.
func (s *timedStore) Close() error { return s.Store.Close() }

func (s *timedStore) LoadCA(ctx context.Context) (r0 store.CA, err error) {
	defer s.observe(opLoadCA, time.Now(), &err)
	return s.Store.LoadCA(ctx)
}

func (s *timedStore) SaveCA(ctx context.Context, ca store.CA) (err error) {
	defer s.observe(opSaveCA, time.Now(), &err)
	return s.Store.SaveCA(ctx, ca)
}

func (s *timedStore) CreateToken(ctx context.Context, t store.Token) (err error) {
	defer s.observe(opCreateToken, time.Now(), &err)
	return s.Store.CreateToken(ctx, t)
}

func (s *timedStore) GetToken(ctx context.Context, id string) (r0 store.Token, err error) {
	defer s.observe(opGetToken, time.Now(), &err)
	return s.Store.GetToken(ctx, id)
}

func (s *timedStore) UseToken(ctx context.Context, id string, at time.Time) (err error) {
	defer s.observe(opUseToken, time.Now(), &err)
	return s.Store.UseToken(ctx, id, at)
}

func (s *timedStore) DeleteExpiredTokens(ctx context.Context, t time.Time) (r0 int, err error) {
	defer s.observe(opDeleteExpiredTokens, time.Now(), &err)
	return s.Store.DeleteExpiredTokens(ctx, t)
}

func (s *timedStore) AddConnector(ctx context.Context, c store.Connector) (err error) {
	defer s.observe(opAddConnector, time.Now(), &err)
	return s.Store.AddConnector(ctx, c)
}

func (s *timedStore) GetConnector(ctx context.Context, id string) (r0 store.Connector, err error) {
	defer s.observe(opGetConnector, time.Now(), &err)
	return s.Store.GetConnector(ctx, id)
}

func (s *timedStore) ListConnectors(ctx context.Context) (r0 []store.Connector, err error) {
	defer s.observe(opListConnectors, time.Now(), &err)
	return s.Store.ListConnectors(ctx)
}

func (s *timedStore) TouchConnector(ctx context.Context, id string, seen time.Time, addr, version string) (err error) {
	defer s.observe(opTouchConnector, time.Now(), &err)
	return s.Store.TouchConnector(ctx, id, seen, addr, version)
}

func (s *timedStore) RemoveConnectorsSeenBefore(ctx context.Context, t time.Time) (r0 []string, err error) {
	defer s.observe(opRemoveConnectorsSeenBefore, time.Now(), &err)
	return s.Store.RemoveConnectorsSeenBefore(ctx, t)
}

func (s *timedStore) PutBlob(ctx context.Context, key string, value []byte, modified time.Time) (err error) {
	defer s.observe(opPutBlob, time.Now(), &err)
	return s.Store.PutBlob(ctx, key, value, modified)
}

func (s *timedStore) GetBlob(ctx context.Context, key string) (r0 store.Blob, err error) {
	defer s.observe(opGetBlob, time.Now(), &err)
	return s.Store.GetBlob(ctx, key)
}

func (s *timedStore) StatBlob(ctx context.Context, key string) (r0 store.Blob, err error) {
	defer s.observe(opStatBlob, time.Now(), &err)
	return s.Store.StatBlob(ctx, key)
}

func (s *timedStore) DeleteBlobs(ctx context.Context, key string) (r0 int, err error) {
	defer s.observe(opDeleteBlobs, time.Now(), &err)
	return s.Store.DeleteBlobs(ctx, key)
}

func (s *timedStore) ListBlobs(ctx context.Context, prefix string) (r0 []string, err error) {
	defer s.observe(opListBlobs, time.Now(), &err)
	return s.Store.ListBlobs(ctx, prefix)
}

func (s *timedStore) RevokeSessions(ctx context.Context, subject string, t time.Time) (err error) {
	defer s.observe(opRevokeSessions, time.Now(), &err)
	return s.Store.RevokeSessions(ctx, subject, t)
}

func (s *timedStore) RevokedBefore(ctx context.Context, subject string) (r0 time.Time, err error) {
	defer s.observe(opRevokedBefore, time.Now(), &err)
	return s.Store.RevokedBefore(ctx, subject)
}

func (s *timedStore) RevokeSession(ctx context.Context, id string, expires time.Time) (err error) {
	defer s.observe(opRevokeSession, time.Now(), &err)
	return s.Store.RevokeSession(ctx, id, expires)
}

func (s *timedStore) SessionRevoked(ctx context.Context, id string) (r0 bool, err error) {
	defer s.observe(opSessionRevoked, time.Now(), &err)
	return s.Store.SessionRevoked(ctx, id)
}

func (s *timedStore) Revocation(ctx context.Context, subject, id string) (before time.Time, signedOut bool, err error) {
	defer s.observe(opRevocation, time.Now(), &err)
	return s.Store.Revocation(ctx, subject, id)
}

func (s *timedStore) DeleteExpiredSessionRevocations(ctx context.Context, t time.Time) (r0 int, err error) {
	defer s.observe(opDeleteExpiredSessionRevocations, time.Now(), &err)
	return s.Store.DeleteExpiredSessionRevocations(ctx, t)
}

func (s *timedStore) PutCredential(ctx context.Context, app, subject string, sealed []byte) (err error) {
	defer s.observe(opPutCredential, time.Now(), &err)
	return s.Store.PutCredential(ctx, app, subject, sealed)
}

func (s *timedStore) GetCredential(ctx context.Context, app, subject string) (r0 []byte, err error) {
	defer s.observe(opGetCredential, time.Now(), &err)
	return s.Store.GetCredential(ctx, app, subject)
}

func (s *timedStore) DeleteCredential(ctx context.Context, app, subject string) (err error) {
	defer s.observe(opDeleteCredential, time.Now(), &err)
	return s.Store.DeleteCredential(ctx, app, subject)
}

func (s *timedStore) AddSignIn(ctx context.Context, rec store.SignIn) (err error) {
	defer s.observe(opAddSignIn, time.Now(), &err)
	return s.Store.AddSignIn(ctx, rec)
}

func (s *timedStore) ListSignIns(ctx context.Context, limit int) (r0 []store.SignIn, err error) {
	defer s.observe(opListSignIns, time.Now(), &err)
	return s.Store.ListSignIns(ctx, limit)
}

func (s *timedStore) DeleteSignInsBefore(ctx context.Context, t time.Time) (r0 int, err error) {
	defer s.observe(opDeleteSignInsBefore, time.Now(), &err)
	return s.Store.DeleteSignInsBefore(ctx, t)
}

func (s *timedStore) TryLock(ctx context.Context, name, owner string, now, expires time.Time) (r0 bool, err error) {
	defer s.observe(opTryLock, time.Now(), &err)
	return s.Store.TryLock(ctx, name, owner, now, expires)
}

func (s *timedStore) DeleteExpiredLocks(ctx context.Context, t time.Time) (r0 int, err error) {
	defer s.observe(opDeleteExpiredLocks, time.Now(), &err)
	return s.Store.DeleteExpiredLocks(ctx, t)
}

func (s *timedStore) Unlock(ctx context.Context, name, owner string) (err error) {
	defer s.observe(opUnlock, time.Now(), &err)
	return s.Store.Unlock(ctx, name, owner)
}

// A node calls these three every few seconds (membership and the change
// follower); the rest of the cluster methods are rare and stay untimed.

func (s *timedStore) HeartbeatNode(ctx context.Context, n store.Node) (err error) {
	defer s.observe(opHeartbeatNode, time.Now(), &err)
	return s.Store.HeartbeatNode(ctx, n)
}

func (s *timedStore) ListNodes(ctx context.Context) (r0 []store.Node, err error) {
	defer s.observe(opListNodes, time.Now(), &err)
	return s.Store.ListNodes(ctx)
}

func (s *timedStore) Changes(ctx context.Context, after int64, limit int) (r0 []store.Change, err error) {
	defer s.observe(opChanges, time.Now(), &err)
	return s.Store.Changes(ctx, after, limit)
}

// The store operations, as the op label names them.
const (
	opLoadCA = iota
	opSaveCA
	opCreateToken
	opGetToken
	opUseToken
	opDeleteExpiredTokens
	opAddConnector
	opGetConnector
	opListConnectors
	opTouchConnector
	opRemoveConnectorsSeenBefore
	opPutBlob
	opGetBlob
	opStatBlob
	opDeleteBlobs
	opListBlobs
	opRevokeSessions
	opRevokedBefore
	opRevokeSession
	opSessionRevoked
	opRevocation
	opDeleteExpiredSessionRevocations
	opPutCredential
	opGetCredential
	opDeleteCredential
	opAddSignIn
	opListSignIns
	opDeleteSignInsBefore
	opTryLock
	opDeleteExpiredLocks
	opUnlock
	opHeartbeatNode
	opListNodes
	opChanges
	numOps
)

var opNames = [numOps]string{
	"LoadCA",
	"SaveCA",
	"CreateToken",
	"GetToken",
	"UseToken",
	"DeleteExpiredTokens",
	"AddConnector",
	"GetConnector",
	"ListConnectors",
	"TouchConnector",
	"RemoveConnectorsSeenBefore",
	"PutBlob",
	"GetBlob",
	"StatBlob",
	"DeleteBlobs",
	"ListBlobs",
	"RevokeSessions",
	"RevokedBefore",
	"RevokeSession",
	"SessionRevoked",
	"Revocation",
	"DeleteExpiredSessionRevocations",
	"PutCredential",
	"GetCredential",
	"DeleteCredential",
	"AddSignIn",
	"ListSignIns",
	"DeleteSignInsBefore",
	"TryLock",
	"DeleteExpiredLocks",
	"Unlock",
	"HeartbeatNode",
	"ListNodes",
	"Changes",
}
