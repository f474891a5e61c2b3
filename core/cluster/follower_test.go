package cluster

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// keys collects the keys of the changes a follower delivers.
func keys(f *Follower, kinds ...string) <-chan store.Change {
	c := make(chan store.Change, 100)
	for _, k := range kinds {
		f.On(k, func(_ context.Context, ch store.Change) { c <- ch })
	}
	return c
}

// TestFollowerDeliversByKind: what another handle writes (another node,
// or the CLI) reaches the subscribers of its kind, in Seq order, and
// nothing reaches a kind nobody subscribed to.
func TestFollowerDeliversByKind(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		node, cli := open(t), open(t)
		f := NewFollower(node, FollowerOptions{FastPoll: 10 * time.Millisecond})
		got := keys(f, store.ChangeRevokeSessions, store.ChangeBlob)
		reloads := make(chan struct{}, 10)
		f.OnReload(func() { reloads <- struct{}{} })
		run(t, f.Run)
		recv(t, "the initial reload", reloads)
		ctx := t.Context()
		if err := cli.RevokeSession(ctx, "s1", time.Now().Add(time.Hour)); err != nil { // nobody subscribed
			t.Fatal(err)
		}
		if err := cli.RevokeSessions(ctx, "alice", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := cli.PutBlob(ctx, "certs/a", []byte("x"), time.Now()); err != nil {
			t.Fatal(err)
		}
		first, second := recv(t, "alice", got), recv(t, "the blob", got)
		if first.Kind != store.ChangeRevokeSessions || first.Key != "alice" || second.Kind != store.ChangeBlob ||
			second.Key != "certs/a" || second.Seq <= first.Seq {
			t.Fatalf("delivered %+v then %+v; want alice's revocation, then the blob", first, second)
		}
		waitFor(t, "the cursor to pass the blob", func() bool { return f.Cursor() >= second.Seq })
		if !f.Healthy() || f.LastError() != nil {
			t.Fatalf("Healthy = %v, LastError = %v while the store works", f.Healthy(), f.LastError())
		}
		select {
		case c := <-got:
			t.Fatalf("delivered %+v too", c)
		default:
		}
	})
}

// blocker makes a follower's subscriber of revocations wait while the
// key is "block", so the test can change the feed behind its cursor.
type blocker struct {
	entered chan struct{} // closed when the subscriber blocks
	release chan struct{}
}

func newBlocker(f *Follower) *blocker {
	b := &blocker{entered: make(chan struct{}), release: make(chan struct{})}
	f.On(store.ChangeRevokeSessions, func(_ context.Context, c store.Change) {
		if c.Key == "block" {
			close(b.entered)
			<-b.release
		}
	})
	return b
}

// TestFollowerReloadsAfterCleanup: a follower that fell behind
// DeleteChangesBefore (its cursor's change and those after it deleted)
// asks for a reload and goes on after the newest change; the deleted
// changes are not delivered, later ones are.
func TestFollowerReloadsAfterCleanup(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		node, cli := open(t), open(t)
		ctx := t.Context()
		f := NewFollower(node, FollowerOptions{FastPoll: 10 * time.Millisecond})
		bl := newBlocker(f)
		got := keys(f, store.ChangeRevokeSessions)
		var reloads atomic.Int32
		f.OnReload(func() { reloads.Add(1) })
		run(t, f.Run)
		waitFor(t, "the initial reload", func() bool { return reloads.Load() == 1 })
		if err := cli.RevokeSessions(ctx, "block", time.Now()); err != nil {
			t.Fatal(err)
		}
		recv(t, "the blocking change", bl.entered)
		for _, s := range []string{"missed1", "missed2"} {
			if err := cli.RevokeSessions(ctx, s, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := cli.DeleteChangesBefore(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := cli.RevokeSessions(ctx, "in-the-reload", time.Now()); err != nil {
			t.Fatal(err)
		}
		close(bl.release)
		if c := recv(t, "block", got); c.Key != "block" {
			t.Fatalf("delivered %q, want block", c.Key)
		}
		waitFor(t, "the reload", func() bool { return reloads.Load() == 2 })
		if err := cli.RevokeSessions(ctx, "after", time.Now()); err != nil {
			t.Fatal(err)
		}
		if c := recv(t, "after", got); c.Key != "after" {
			t.Fatalf("after the reload delivered %q, want after (the deleted ones and the one the reload covers are not delivered)", c.Key)
		}
		if n := reloads.Load(); n != 2 {
			t.Fatalf("%d reloads, want 2", n)
		}
	})
}

// TestFollowerResumesFromACursor: a follower started from a cursor whose
// change was cleaned up reloads; one started from a cursor still in the
// feed delivers what came after it, without a reload.
func TestFollowerResumesFromACursor(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		node, cli := open(t), open(t)
		ctx := t.Context()
		for _, s := range []string{"a", "b"} {
			if err := cli.RevokeSessions(ctx, s, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		last, err := cli.LastChange(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f := NewFollower(node, FollowerOptions{FastPoll: 10 * time.Millisecond, Cursor: last - 1})
		got := keys(f, store.ChangeRevokeSessions)
		var reloads atomic.Int32
		f.OnReload(func() { reloads.Add(1) })
		stop := run(t, f.Run)
		if c := recv(t, "b", got); c.Key != "b" || reloads.Load() != 0 {
			t.Fatalf("delivered %q after %d reloads; want b, no reload", c.Key, reloads.Load())
		}
		stop()
		if _, err := cli.DeleteChangesBefore(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		f = NewFollower(node, FollowerOptions{FastPoll: 10 * time.Millisecond, Cursor: last})
		f.OnReload(func() { reloads.Add(1) })
		run(t, f.Run)
		waitFor(t, "the reload of a follower whose cursor was cleaned up", func() bool { return reloads.Load() == 1 })
	})
}

// TestFollowerSeqHoleIsNoGap: a Seq that was never committed (PostgreSQL
// hands out numbers that a rolled-back transaction leaves unused; here a
// row deleted from the middle of the feed stands for it) is no reason to
// reload while the cursor's change is still in the feed.
func TestFollowerSeqHoleIsNoGap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	node, cli := openSQLiteAt(t, path), openSQLiteAt(t, path)
	ctx := t.Context()
	f := NewFollower(node, FollowerOptions{FastPoll: 10 * time.Millisecond})
	bl := newBlocker(f)
	got := keys(f, store.ChangeRevokeSessions)
	var reloads atomic.Int32
	f.OnReload(func() { reloads.Add(1) })
	run(t, f.Run)
	waitFor(t, "the initial reload", func() bool { return reloads.Load() == 1 })
	if err := cli.RevokeSessions(ctx, "block", time.Now()); err != nil {
		t.Fatal(err)
	}
	recv(t, "the blocking change", bl.entered)
	for _, s := range []string{"hole", "after"} {
		if err := cli.RevokeSessions(ctx, s, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM changes WHERE key = 'hole'`); err != nil {
		t.Fatal(err)
	}
	close(bl.release)
	recv(t, "block", got)
	if c := recv(t, "after", got); c.Key != "after" || reloads.Load() != 1 {
		t.Fatalf("delivered %q after %d reloads; want after, and only the initial reload", c.Key, reloads.Load())
	}
}

// TestFollowerUnhealthyWhileTheStoreIsDown: a follower whose store fails
// says so (Healthy, LastError), logs it once, and recovers when it can.
func TestFollowerUnhealthyWhileTheStoreIsDown(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, cut := b.fresh(t)
		node := open(t)
		log, logs := newLogger()
		f := NewFollower(node, FollowerOptions{FastPoll: 10 * time.Millisecond, Logger: log})
		run(t, f.Run)
		waitFor(t, "a first poll", f.Healthy)
		if cut == nil {
			node.Close()
		} else {
			restore := cut(t)
			defer restore()
		}
		waitFor(t, "the follower to notice", func() bool { return !f.Healthy() && f.LastError() != nil })
		t.Logf("LastError: %v", f.LastError())
		if n := logs.count("store unreachable"); n != 1 {
			t.Fatalf("logged the outage %d times, want once:\n%s", n, logs)
		}
		if cut == nil {
			return
		}
		restoreNow := cut(t) // already cut: this only gets the restore
		restoreNow()
		waitFor(t, "the follower to recover", f.Healthy)
		if logs.count("store reachable again") != 1 {
			t.Fatalf("recovery not logged:\n%s", logs)
		}
	})
}
