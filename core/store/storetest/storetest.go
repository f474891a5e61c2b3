// Package storetest is a conformance suite for store.Store implementations.
// Each implementation's tests call Run with a function that opens a fresh,
// empty store, so the SQLite and PostgreSQL stores are held to the same
// behaviour.
package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// base is the suite's reference time. It has nanoseconds and a non-UTC zone
// so that stores must keep full precision and compare with time.Time.Equal.
var base = time.Date(2031, time.March, 4, 5, 6, 7, 123456789, time.FixedZone("UTC+2", 2*60*60))

// opener opens a fresh, empty store that is closed when the test ends.
type opener func(t *testing.T) store.Store

// Run runs the suite. open must return a new, empty store each call; Run
// closes it when the subtest that asked for it ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	t.Run("CA", func(t *testing.T) { testCA(t, fresh(t)) })
	t.Run("TokenRoundTrip", func(t *testing.T) { testTokenRoundTrip(t, fresh) })
	t.Run("TokenErrors", func(t *testing.T) { testTokenErrors(t, fresh) })
	t.Run("UseToken", func(t *testing.T) { testUseToken(t, fresh(t)) })
	t.Run("UseTokenConcurrent", func(t *testing.T) { RaceUseToken(t, fresh(t)) })
	t.Run("DeleteExpiredTokens", func(t *testing.T) { testDeleteExpiredTokens(t, fresh) })
	t.Run("ConnectorRoundTrip", func(t *testing.T) { testConnectorRoundTrip(t, fresh) })
	t.Run("ConnectorErrors", func(t *testing.T) { testConnectorErrors(t, fresh) })
	t.Run("ListConnectors", func(t *testing.T) { testListConnectors(t, fresh(t)) })
	t.Run("TouchConnector", func(t *testing.T) { testTouchConnector(t, fresh(t)) })
	t.Run("RemoveConnectorsSeenBefore", func(t *testing.T) { testRemoveConnectorsSeenBefore(t, fresh) })
	t.Run("RemoveConnector", func(t *testing.T) { testRemoveConnector(t, fresh(t)) })
	t.Run("BlobRoundTrip", func(t *testing.T) { testBlobRoundTrip(t, fresh) })
	t.Run("BlobListDelete", func(t *testing.T) { testBlobListDelete(t, fresh) })
	t.Run("Locks", func(t *testing.T) { testLocks(t, fresh(t)) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, fresh(t)) })
	t.Run("SessionRevocations", func(t *testing.T) { testSessionRevocations(t, fresh(t)) })
	t.Run("SignIns", func(t *testing.T) { testSignIns(t, fresh(t)) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, fresh(t)) })
	t.Run("TryLockConcurrent", func(t *testing.T) { RaceTryLock(t, fresh(t)) })
	t.Run("Nodes", func(t *testing.T) { testNodes(t, fresh(t)) })
	t.Run("RemoveNodesSeenBefore", func(t *testing.T) { testRemoveNodesSeenBefore(t, fresh(t)) })
	t.Run("ListRevocations", func(t *testing.T) { testListRevocations(t, fresh(t)) })
	t.Run("ListSessionRevocations", func(t *testing.T) { testListSessionRevocations(t, fresh(t)) })
	t.Run("ChangeKinds", func(t *testing.T) { testChangeKinds(t, fresh(t)) })
	t.Run("ChangesPaging", func(t *testing.T) { testChangesPaging(t, fresh(t)) })
	t.Run("DeleteChangesBefore", func(t *testing.T) { testDeleteChangesBefore(t, fresh(t)) })
	t.Run("FollowChangesConcurrent", func(t *testing.T) { FollowChanges(t, fresh(t)) })
	t.Run("Listen", func(t *testing.T) {
		s := fresh(t)
		ListenAcross(t, s, s)
	})
}

func testCA(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.LoadCA(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LoadCA before SaveCA: err = %v, want ErrNotFound", err)
	}
	first := store.CA{CertPEM: []byte("cert one"), KeyPEM: []byte("key one")}
	if err := s.SaveCA(ctx, first); err != nil {
		t.Fatalf("SaveCA: %v", err)
	}
	second := store.CA{CertPEM: []byte("cert two"), KeyPEM: []byte("key two")}
	if err := s.SaveCA(ctx, second); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second SaveCA: err = %v, want ErrExists", err)
	}
	got, err := s.LoadCA(ctx)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if !bytes.Equal(got.CertPEM, first.CertPEM) || !bytes.Equal(got.KeyPEM, first.KeyPEM) {
		t.Fatalf("LoadCA returned cert %q, want the first CA's %q", got.CertPEM, first.CertPEM)
	}
}
