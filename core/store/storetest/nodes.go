package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// node returns a gateway node with the given ID and LastSeen.
func node(id string, seen time.Time) store.Node {
	return store.Node{
		ID: id, TunnelAddr: id + ".example.net:8443", Version: "1.2.3",
		ConfigHash: "c0ffee" + id, ConfigAt: base.Add(-2 * time.Minute), StartedAt: base.Add(-time.Hour),
		LastSeen: seen,
	}
}

func equalNode(a, b store.Node) bool {
	return a.ID == b.ID && a.TunnelAddr == b.TunnelAddr && a.Version == b.Version && a.ConfigHash == b.ConfigHash &&
		a.ConfigAt.Equal(b.ConfigAt) && a.StartedAt.Equal(b.StartedAt) && a.LastSeen.Equal(b.LastSeen) &&
		a.Draining == b.Draining
}

// wantNodes fails t unless ListNodes returns want, in order.
func wantNodes(t *testing.T, s store.Store, want ...store.Node) {
	t.Helper()
	got, err := s.ListNodes(t.Context())
	if err != nil {
		t.Fatalf("ListNodes: %v", err)
	}
	if !slices.EqualFunc(got, want, equalNode) {
		t.Fatalf("ListNodes = %+v\nwant %+v", got, want)
	}
}

func testNodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantNodes(t, s)
	b, a := node("node-b", base), node("node-a", base.Add(time.Second))
	for _, n := range []store.Node{b, a} {
		if err := s.HeartbeatNode(ctx, n); err != nil {
			t.Fatalf("HeartbeatNode(%s): %v", n.ID, err)
		}
	}
	wantNodes(t, s, a, b) // ordered by ID

	// A heartbeat replaces every field, Draining included.
	a.LastSeen, a.Version, a.ConfigHash, a.Draining = base.Add(time.Minute), "1.2.4", "beef", true
	a.TunnelAddr, a.ConfigAt = "10.0.0.9:8443", base.Add(time.Minute)
	if err := s.HeartbeatNode(ctx, a); err != nil {
		t.Fatalf("HeartbeatNode(update): %v", err)
	}
	wantNodes(t, s, a, b)
	if err := s.HeartbeatNode(ctx, store.Node{TunnelAddr: "x:1"}); err == nil {
		t.Fatal("HeartbeatNode with an empty ID succeeded, want an error")
	}

	if err := s.RemoveNode(ctx, "node-c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RemoveNode(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.RemoveNode(ctx, "node-a"); err != nil {
		t.Fatalf("RemoveNode: %v", err)
	}
	wantNodes(t, s, b)
	if err := s.RemoveNode(ctx, "node-a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second RemoveNode = %v, want ErrNotFound", err)
	}
}

func testRemoveNodesSeenBefore(t *testing.T, s store.Store) {
	ctx := t.Context()
	stale, edge, fresh := node("n1", base.Add(-time.Minute)), node("n2", base), node("n3", base.Add(time.Minute))
	never := node("n0", time.Time{})
	for _, n := range []store.Node{fresh, edge, stale, never} {
		if err := s.HeartbeatNode(ctx, n); err != nil {
			t.Fatalf("HeartbeatNode(%s): %v", n.ID, err)
		}
	}
	if ids, err := s.RemoveNodesSeenBefore(ctx, time.Time{}); err != nil || len(ids) != 0 {
		t.Fatalf("RemoveNodesSeenBefore(zero) = %v, %v; want nothing", ids, err)
	}
	ids, err := s.RemoveNodesSeenBefore(ctx, base)
	if err != nil {
		t.Fatalf("RemoveNodesSeenBefore: %v", err)
	}
	if !slices.Equal(ids, []string{"n0", "n1"}) {
		t.Fatalf("RemoveNodesSeenBefore = %v, want [n0 n1] (sorted; LastSeen exactly at t stays)", ids)
	}
	wantNodes(t, s, edge, fresh)
	if ids, err := s.RemoveNodesSeenBefore(ctx, base); err != nil || len(ids) != 0 {
		t.Fatalf("second RemoveNodesSeenBefore = %v, %v; want nothing", ids, err)
	}
}

func testListRevocations(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.ListRevocations(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListRevocations on an empty store = %v, %v", got, err)
	}
	for _, r := range []store.Revocation{
		{Subject: "bob", Before: base.Add(time.Hour)}, {Subject: "alice", Before: base},
		{Subject: "alice", Before: base.Add(-time.Hour)}, // the line never moves back
	} {
		if err := s.RevokeSessions(ctx, r.Subject, r.Before); err != nil {
			t.Fatalf("RevokeSessions: %v", err)
		}
	}
	got, err := s.ListRevocations(ctx)
	if err != nil {
		t.Fatalf("ListRevocations: %v", err)
	}
	slices.SortFunc(got, func(a, b store.Revocation) int { return strings.Compare(a.Subject, b.Subject) })
	want := []store.Revocation{{Subject: "alice", Before: base}, {Subject: "bob", Before: base.Add(time.Hour)}}
	if !slices.EqualFunc(got, want, func(a, b store.Revocation) bool { return a.Subject == b.Subject && a.Before.Equal(b.Before) }) {
		t.Fatalf("ListRevocations = %+v, want %+v", got, want)
	}
}

func testListSessionRevocations(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.ListSessionRevocations(ctx, base); err != nil || len(got) != 0 {
		t.Fatalf("ListSessionRevocations on an empty store = %v, %v", got, err)
	}
	for _, r := range []store.SessionRevocation{
		{ID: "expired", Expires: base.Add(-time.Second)}, {ID: "live-2", Expires: base.Add(2 * time.Hour)},
		{ID: "live-1", Expires: base.Add(time.Hour)},
	} {
		if err := s.RevokeSession(ctx, r.ID, r.Expires); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
	}
	got, err := s.ListSessionRevocations(ctx, base)
	if err != nil {
		t.Fatalf("ListSessionRevocations: %v", err)
	}
	slices.SortFunc(got, func(a, b store.SessionRevocation) int { return strings.Compare(a.ID, b.ID) })
	want := []store.SessionRevocation{{ID: "live-1", Expires: base.Add(time.Hour)}, {ID: "live-2", Expires: base.Add(2 * time.Hour)}}
	if !slices.EqualFunc(got, want, func(a, b store.SessionRevocation) bool { return a.ID == b.ID && a.Expires.Equal(b.Expires) }) {
		t.Fatalf("ListSessionRevocations(now) = %+v, want %+v (the expired sign-out left out)", got, want)
	}
	if got, err := s.ListSessionRevocations(ctx, base.Add(3*time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("ListSessionRevocations after every expiry = %v, %v; want none", got, err)
	}
}
