package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// kk is a change's kind and key.
type kk struct{ Kind, Key string }

// changeStep is one write and the changes it must record.
type changeStep struct {
	name    string
	op      func(ctx context.Context) error
	wantErr error // nil: the write succeeds
	want    []kk  // in any order
}

// ignore drops a result that the step does not check.
func ignore[T any](_ T, err error) error { return err }

func revocationSteps(s store.Store) []changeStep {
	return []changeStep{
		{"RevokeSessions", func(ctx context.Context) error { return s.RevokeSessions(ctx, "alice", base) }, nil,
			[]kk{{store.ChangeRevokeSessions, "alice"}}},
		{"RevokeSession", func(ctx context.Context) error { return s.RevokeSession(ctx, "sess-1", base) }, nil,
			[]kk{{store.ChangeRevokeSession, "sess-1"}}},
		{"DeleteExpiredSessionRevocations (no change)", func(ctx context.Context) error {
			return ignore(s.DeleteExpiredSessionRevocations(ctx, base.Add(time.Hour)))
		}, nil, nil},
		{"AddSignIn (no change)", func(ctx context.Context) error {
			return s.AddSignIn(ctx, store.SignIn{At: base, App: "a", Subject: "alice", Result: "signed_in"})
		}, nil, nil},
		{"TryLock (no change)", func(ctx context.Context) error {
			return ignore(s.TryLock(ctx, "l", "me", base, base.Add(time.Minute)))
		}, nil, nil},
		{"PutCredential", func(ctx context.Context) error { return s.PutCredential(ctx, "wiki", "alice", []byte("sealed")) }, nil,
			[]kk{{store.ChangeCredential, "wiki/alice"}}},
		{"DeleteCredential", func(ctx context.Context) error { return s.DeleteCredential(ctx, "wiki", "alice") }, nil,
			[]kk{{store.ChangeCredential, "wiki/alice"}}},
	}
}

func connectorTokenSteps(s store.Store) []changeStep {
	add := func(id string, seen time.Time) func(ctx context.Context) error {
		return func(ctx context.Context) error { return s.AddConnector(ctx, connector("edge", id, seen)) }
	}
	return []changeStep{
		{"AddConnector (no change)", add("c1", base), nil, nil},
		{"AddConnector stale (no change)", add("c2", base.Add(-time.Hour)), nil, nil},
		{"AddConnector stale too (no change)", add("c3", base.Add(-time.Hour)), nil, nil},
		{"TouchConnector (no change)", func(ctx context.Context) error {
			return s.TouchConnector(ctx, "c1", base.Add(time.Minute), "192.0.2.9:1", "2.0")
		}, nil, nil},
		{"RemoveConnector", func(ctx context.Context) error { return s.RemoveConnector(ctx, "c1") }, nil,
			[]kk{{store.ChangeConnectorRemoved, "c1"}}},
		{"RemoveConnector unknown", func(ctx context.Context) error { return s.RemoveConnector(ctx, "c1") }, store.ErrNotFound, nil},
		{"RemoveConnectorsSeenBefore", func(ctx context.Context) error { return ignore(s.RemoveConnectorsSeenBefore(ctx, base)) }, nil,
			[]kk{{store.ChangeConnectorRemoved, "c2"}, {store.ChangeConnectorRemoved, "c3"}}},
		{"RemoveConnectorsSeenBefore nothing", func(ctx context.Context) error { return ignore(s.RemoveConnectorsSeenBefore(ctx, base)) }, nil, nil},
		{"CreateToken (no change)", func(ctx context.Context) error { return s.CreateToken(ctx, token("t1", base.Add(time.Hour))) }, nil, nil},
		{"UseToken", func(ctx context.Context) error { return s.UseToken(ctx, "t1", base) }, nil,
			[]kk{{store.ChangeTokenUsed, "t1"}}},
		{"UseToken used", func(ctx context.Context) error { return s.UseToken(ctx, "t1", base) }, store.ErrUsed, nil},
		{"UseToken unknown", func(ctx context.Context) error { return s.UseToken(ctx, "t9", base) }, store.ErrNotFound, nil},
		{"DeleteExpiredTokens (no change)", func(ctx context.Context) error { return ignore(s.DeleteExpiredTokens(ctx, base.Add(2*time.Hour))) }, nil, nil},
	}
}

func blobNodeSteps(s store.Store) []changeStep {
	put := func(key string) func(ctx context.Context) error {
		return func(ctx context.Context) error { return s.PutBlob(ctx, key, []byte("v"), base) }
	}
	beat := func(n store.Node) func(ctx context.Context) error {
		return func(ctx context.Context) error { return s.HeartbeatNode(ctx, n) }
	}
	n1 := node("n1", base)
	same := n1
	same.LastSeen, same.Version, same.StartedAt, same.ConfigAt = base.Add(time.Minute), "9.9.9", base, base
	hash, drain, addr := same, same, same
	hash.ConfigHash = "new hash"
	drain.ConfigHash, drain.Draining = hash.ConfigHash, true
	addr.ConfigHash, addr.Draining, addr.TunnelAddr = hash.ConfigHash, true, "10.1.1.1:8443"
	nodes := func(id string) []kk { return []kk{{store.ChangeNodes, id}} }
	return []changeStep{
		{"PutBlob", put("certs/a/x"), nil, []kk{{store.ChangeBlob, "certs/a/x"}}},
		{"PutBlob again", put("certs/a/y"), nil, []kk{{store.ChangeBlob, "certs/a/y"}}},
		{"DeleteBlobs", func(ctx context.Context) error { return ignore(s.DeleteBlobs(ctx, "certs/a")) }, nil,
			[]kk{{store.ChangeBlob, "certs/a"}}},
		{"DeleteBlobs nothing", func(ctx context.Context) error { return ignore(s.DeleteBlobs(ctx, "certs/a")) }, nil, nil},
		{"HeartbeatNode new", beat(n1), nil, nodes("n1")},
		{"HeartbeatNode same advertisement", beat(same), nil, nil},
		{"HeartbeatNode ConfigHash", beat(hash), nil, nodes("n1")},
		{"HeartbeatNode Draining", beat(drain), nil, nodes("n1")},
		{"HeartbeatNode TunnelAddr", beat(addr), nil, nodes("n1")},
		{"RemoveNode", func(ctx context.Context) error { return s.RemoveNode(ctx, "n1") }, nil, nodes("n1")},
		{"RemoveNode unknown", func(ctx context.Context) error { return s.RemoveNode(ctx, "n1") }, store.ErrNotFound, nil},
		{"HeartbeatNode stale", beat(node("n2", base.Add(-time.Hour))), nil, nodes("n2")},
		{"RemoveNodesSeenBefore", func(ctx context.Context) error { return ignore(s.RemoveNodesSeenBefore(ctx, base)) }, nil, nodes("n2")},
	}
}

// testChangeKinds: each write records exactly its changes, failed and
// other writes none; each with a larger Seq and the time of the write.
func testChangeKinds(t *testing.T, s store.Store) {
	ctx := t.Context()
	steps := slices.Concat(revocationSteps(s), connectorTokenSteps(s), blobNodeSteps(s))
	var last int64
	for _, st := range steps {
		before := time.Now()
		err := st.op(ctx)
		after := time.Now()
		if st.wantErr == nil && err != nil || st.wantErr != nil && !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		got, err := s.Changes(ctx, last, 100)
		if err != nil {
			t.Fatalf("%s: Changes: %v", st.name, err)
		}
		var kinds []kk
		for _, c := range got {
			kinds = append(kinds, kk{c.Kind, c.Key})
			if c.Seq <= last {
				t.Fatalf("%s: change %+v has Seq not after %d", st.name, c, last)
			}
			// A minute's slack either side: this checks that At is the
			// time of the write, not how long it took.
			if c.At.Before(before.Add(-time.Minute)) || c.At.After(after.Add(time.Minute)) {
				t.Fatalf("%s: change At = %v, want about %v", st.name, c.At, before)
			}
			last = c.Seq
		}
		byKey := func(a, b kk) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key)) }
		slices.SortFunc(kinds, byKey)
		want := slices.SortedFunc(slices.Values(st.want), byKey)
		if !slices.Equal(kinds, want) {
			t.Fatalf("%s recorded %v, want %v", st.name, kinds, want)
		}
		if n, err := s.LastChange(ctx); err != nil || n != last {
			t.Fatalf("%s: LastChange = %d, %v; want %d", st.name, n, err, last)
		}
	}
}

// revokeN records n changes (sign-outs "<prefix>0", ...).
func revokeN(t *testing.T, s store.Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		if err := s.RevokeSession(t.Context(), fmt.Sprintf("%s%d", prefix, i), base); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
	}
}

// allChanges returns every change after after, failing t on an error.
func allChanges(t *testing.T, s store.Store, after int64) []store.Change {
	t.Helper()
	got, err := s.Changes(t.Context(), after, 1000)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	return got
}
