package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// replica starts a follower and a replica on st, and returns the replica
// and a channel of the revocation changes it has applied (a subscriber
// registered after the replica's is called after it).
func replica(t *testing.T, st store.Store, fo FollowerOptions) (*Revocations, *Follower, <-chan store.Change) {
	f := NewFollower(st, fo)
	r := NewRevocations(st, RevocationsOptions{RetryInterval: 10 * time.Millisecond})
	r.Follow(f)
	applied := keys(f, store.ChangeRevokeSessions, store.ChangeRevokeSession)
	var started sync.Once
	following := make(chan struct{})
	f.OnReload(func() { started.Do(func() { close(following) }) }) // the follower read its start point
	run(t, r.Run)
	run(t, f.Run)
	recv(t, "the follower to start", following)
	waitFor(t, "the replica to load", r.Loaded)
	return r, f, applied
}

// TestReplicaSeesTheCLIAndOutlivesTheStore: revocations written by
// another handle (as "gatehouse sessions revoke" does) before and after
// the start reach the replica; it answers as the store does; and after the
// store became unreachable it still refuses everything revoked before.
func TestReplicaSeesTheCLIAndOutlivesTheStore(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, cut := b.fresh(t)
		node, cli := open(t), open(t)
		ctx := t.Context()
		t0, t1 := time.Now().Add(-time.Minute), time.Now()
		if err := cli.RevokeSessions(ctx, "old", t0); err != nil {
			t.Fatal(err)
		}
		if err := cli.RevokeSession(ctx, "sid-old", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		r, f, applied := replica(t, node, FollowerOptions{FastPoll: 10 * time.Millisecond})
		if err := cli.RevokeSessions(ctx, "alice", t1); err != nil {
			t.Fatal(err)
		}
		if err := cli.RevokeSession(ctx, "sid-alice", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		recvKey(t, applied, "alice")
		recvKey(t, applied, "sid-alice")
		for _, q := range [][2]string{{"old", "sid-old"}, {"alice", "sid-alice"}, {"nobody", "sid-none"}, {"alice", ""}} {
			wantBefore, wantOut, err := cli.Revocation(ctx, q[0], q[1])
			if err != nil {
				t.Fatal(err)
			}
			before, out := r.Revocation(q[0], q[1])
			if !before.Equal(wantBefore) || out != wantOut {
				t.Fatalf("replica: Revocation(%q, %q) = %v, %v; the store says %v, %v", q[0], q[1], before, out, wantBefore, wantOut)
			}
		}
		if cut == nil {
			node.Close()
		} else {
			defer cut(t)()
		}
		waitFor(t, "the follower to see the store down", func() bool { return !f.Healthy() })
		checkRevoked(t, r, "old", t0, "sid-old")
		checkRevoked(t, r, "alice", t1, "sid-alice")
	})
}

// checkRevoked fails t unless r refuses subject's sessions started before
// before, and session id.
func checkRevoked(t *testing.T, r *Revocations, subject string, before time.Time, id string) {
	t.Helper()
	got, out := r.Revocation(subject, id)
	if got.Before(before) || !out {
		t.Fatalf("Revocation(%q, %q) = %v, %v; want a line not before %v, signed out", subject, id, got, out, before)
	}
}

// TestReplicaWritesThrough: the replica's own revocations are in the store
// (another handle sees them) and in memory at once.
func TestReplicaWritesThrough(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		node, cli := open(t), open(t)
		ctx := t.Context()
		r := NewRevocations(node, RevocationsOptions{})
		at := time.Now()
		if err := r.RevokeSessions(ctx, "bob", at); err != nil {
			t.Fatal(err)
		}
		if err := r.RevokeSession(ctx, "sid-bob", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		checkRevoked(t, r, "bob", at, "sid-bob")
		before, out, err := cli.Revocation(ctx, "bob", "sid-bob")
		if err != nil || !before.Equal(at) || !out {
			t.Fatalf("the store: Revocation = %v, %v, %v; want %v, true", before, out, err, at)
		}
	})
}

// TestReplicaPrunesAndFailsClosed: expired sign-outs go (also one learned
// from the feed, whose expiry the replica did not know); a subject whose
// changed line could not be read is refused until it is read.
func TestReplicaPrunesAndFailsClosed(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		node, cli := open(t), open(t)
		ctx := t.Context()
		r, _, applied := replica(t, node, FollowerOptions{FastPoll: 10 * time.Millisecond})
		past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
		if err := r.RevokeSession(ctx, "expired-here", past); err != nil {
			t.Fatal(err)
		}
		for _, s := range []store.SessionRevocation{{ID: "expired-there", Expires: past}, {ID: "live-there", Expires: future}} {
			if err := cli.RevokeSession(ctx, s.ID, s.Expires); err != nil {
				t.Fatal(err)
			}
			recvKey(t, applied, s.ID)
		}
		for _, id := range []string{"expired-here", "expired-there", "live-there"} {
			if _, out := r.Revocation("", id); !out {
				t.Fatalf("%s not signed out before Prune", id)
			}
		}
		if err := r.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{"expired-here": false, "expired-there": false, "live-there": true} {
			if _, out := r.Revocation("", id); out != want {
				t.Fatalf("after Prune: %s signed out = %v, want %v", id, out, want)
			}
		}

		// A change of carol's line whose re-read fails (here: a cancelled
		// context) refuses her sessions until the line is read again.
		at := time.Now()
		if err := cli.RevokeSessions(ctx, "carol", at); err != nil {
			t.Fatal(err)
		}
		recvKey(t, applied, "carol")
		dead, cancel := context.WithCancel(ctx)
		cancel()
		r.onRevokeSessions(dead, store.Change{Kind: store.ChangeRevokeSessions, Key: "carol"})
		if before, _ := r.Revocation("carol", ""); !before.Equal(Refused) {
			t.Fatalf("after a failed re-read carol's line is %v, want Refused", before)
		}
		waitFor(t, "the retry to read carol's line", func() bool { before, _ := r.Revocation("carol", ""); return before.Equal(at) })
	})
}

// TestReplicaReloadsAfterCleanup: revocations whose changes were cleaned
// up before a follower read them are loaded by the reload.
func TestReplicaReloadsAfterCleanup(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		node, cli := open(t), open(t)
		ctx := t.Context()
		if err := cli.RevokeSessions(ctx, "first", time.Now()); err != nil {
			t.Fatal(err)
		}
		r := NewRevocations(node, RevocationsOptions{RetryInterval: 10 * time.Millisecond})
		run(t, r.Run)
		waitFor(t, "the load", r.Loaded)
		cursor, err := node.LastChange(ctx)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		if err := cli.RevokeSessions(ctx, "dave", at); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.DeleteChangesBefore(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		f := NewFollower(node, FollowerOptions{FastPoll: 10 * time.Millisecond, Cursor: cursor})
		r.Follow(f)
		run(t, f.Run)
		waitFor(t, "dave's line after the reload", func() bool { before, _ := r.Revocation("dave", ""); return before.Equal(at) })
	})
}

// recvKey receives changes from c until one with key; it fails t after a
// minute.
func recvKey(t *testing.T, c <-chan store.Change, key string) {
	t.Helper()
	for recv(t, key, c).Key != key {
	}
}

// TestReplicaAppliedCoversItsRevocations: Applied stays back while a
// reload the follower asked for is not loaded, and once it reaches the
// Seq of a revocation written by another handle (as the CLI waits for),
// the replica answers that revocation from memory.
func TestReplicaAppliedCoversItsRevocations(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		node, cli := open(t), open(t)
		ctx := t.Context()
		if err := cli.RevokeSessions(ctx, "old", time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		f := NewFollower(node, FollowerOptions{FastPoll: 10 * time.Millisecond})
		r := NewRevocations(node, RevocationsOptions{})
		r.Follow(f)
		var once sync.Once
		reloaded := make(chan struct{})
		f.OnReload(func() { once.Do(func() { close(reloaded) }) }) // after r's: r counted the reload
		run(t, f.Run)                                              // and not r.Run: the reload stays due
		recv(t, "the follower to start", reloaded)
		if got := r.Applied(); got != 0 {
			t.Fatalf("Applied = %d while the start's reload is not loaded; want 0", got)
		}
		if err := r.Load(ctx); err != nil {
			t.Fatal(err)
		}
		// The follower announces the reload before it moves its cursor
		// past the change written before it started.
		waitFor(t, "the follower to read the feed", func() bool { return f.Cursor() > 0 })
		if got, want := r.Applied(), f.Cursor(); got < want {
			t.Fatalf("Applied = %d after the load; want the follower's cursor %d", got, want)
		}
		if before, _ := r.Revocation("old", ""); before.IsZero() {
			t.Fatal("the loaded replica does not hold the revocation from before its start")
		}
		if err := cli.RevokeSessions(ctx, "alice", time.Now()); err != nil {
			t.Fatal(err)
		}
		seq, err := cli.LastChange(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "Applied to reach the CLI's change", func() bool { return r.Applied() >= seq })
		wantBefore, _, err := cli.Revocation(ctx, "alice", "")
		if err != nil {
			t.Fatal(err)
		}
		if before, _ := r.Revocation("alice", ""); !before.Equal(wantBefore) {
			t.Fatalf("at Applied %d the replica answers %v for alice; the store %v", r.Applied(), before, wantBefore)
		}
	})
}

// TestReplicaCurrentSeesAnotherProcess: on a store with stamps (SQLite),
// a revocation written by another handle makes the replica not Current
// at once, before any poll (so checks read the store), and Current again
// once the follower delivered it; a store without stamps (PostgreSQL,
// which notifies) is always Current once loaded.
func TestReplicaCurrentSeesAnotherProcess(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		node, cli := open(t), open(t)
		ctx := t.Context()
		r, _, applied := replica(t, node, FollowerOptions{FastPoll: time.Hour}) // no timed poll: only wakes
		waitFor(t, "the replica to be current", r.Current)
		if err := cli.RevokeSessions(ctx, "alice", time.Now()); err != nil {
			t.Fatal(err)
		}
		_, stamps := node.(store.Stamper)
		if stamps && r.Current() {
			t.Fatal("Current right after another handle's revocation; want false until the follower delivered it")
		}
		if !stamps {
			return // PostgreSQL: Listen wakes the follower (pg_test.go)
		}
		recvKey(t, applied, "alice") // the check that was not current woke the follower
		waitFor(t, "the replica to be current again", r.Current)
		if before, _ := r.Revocation("alice", ""); before.IsZero() {
			t.Fatal("current again without alice's revocation")
		}
	})
}
