package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// testChangesPaging: Changes returns the records after a Seq, oldest
// first, at most limit; LastChange the newest Seq.
func testChangesPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	if n, err := s.LastChange(ctx); err != nil || n != 0 {
		t.Fatalf("LastChange on an empty store = %d, %v; want 0", n, err)
	}
	if got := allChanges(t, s, 0); len(got) != 0 {
		t.Fatalf("Changes on an empty store = %+v", got)
	}
	revokeN(t, s, "s", 5)
	all := allChanges(t, s, 0)
	if len(all) != 5 {
		t.Fatalf("Changes = %+v, want 5 records", all)
	}
	for i, c := range all {
		if c.Kind != store.ChangeRevokeSession || c.Key != fmt.Sprintf("s%d", i) || i > 0 && c.Seq <= all[i-1].Seq {
			t.Fatalf("Changes[%d] = %+v, want s%d after Seq %d, in write order", i, c, i, all[max(i-1, 0)].Seq)
		}
	}
	if n, err := s.LastChange(ctx); err != nil || n != all[4].Seq {
		t.Fatalf("LastChange = %d, %v; want %d", n, err, all[4].Seq)
	}
	var paged []store.Change
	for cursor := int64(0); ; {
		page, err := s.Changes(ctx, cursor, 2)
		if err != nil {
			t.Fatalf("Changes(%d, 2): %v", cursor, err)
		}
		if len(page) > 2 {
			t.Fatalf("Changes(%d, 2) returned %d records", cursor, len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		cursor = page[len(page)-1].Seq
	}
	if len(paged) != len(all) || paged[0].Seq != all[0].Seq || paged[4].Seq != all[4].Seq {
		t.Fatalf("paging by 2 read %+v, want %+v", paged, all)
	}
	if got := allChanges(t, s, all[2].Seq); len(got) != 2 || got[0].Seq != all[3].Seq {
		t.Fatalf("Changes after the third = %+v, want the last two", got)
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.Changes(ctx, 0, limit); err == nil {
			t.Fatalf("Changes with limit %d succeeded, want an error", limit)
		}
	}
}

// testDeleteChangesBefore: old records go, the rest stay, and a Seq is
// never handed out again.
func testDeleteChangesBefore(t *testing.T, s store.Store) {
	ctx := t.Context()
	revokeN(t, s, "d", 3)
	all := allChanges(t, s, 0)
	if n, err := s.DeleteChangesBefore(ctx, time.Time{}); err != nil || n != 0 {
		t.Fatalf("DeleteChangesBefore(zero) = %d, %v; want 0", n, err)
	}
	cut := all[1].At.Add(time.Nanosecond)
	var keep []store.Change
	for _, c := range all {
		if !c.At.Before(cut) {
			keep = append(keep, c)
		}
	}
	n, err := s.DeleteChangesBefore(ctx, cut)
	if err != nil || n != len(all)-len(keep) {
		t.Fatalf("DeleteChangesBefore = %d, %v; want %d", n, err, len(all)-len(keep))
	}
	if got := allChanges(t, s, 0); len(got) != len(keep) || len(got) > 0 && got[0].Seq != keep[0].Seq {
		t.Fatalf("after DeleteChangesBefore: Changes = %+v, want %+v", got, keep)
	}
	if _, err := s.DeleteChangesBefore(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("DeleteChangesBefore(later): %v", err)
	}
	if got := allChanges(t, s, 0); len(got) != 0 {
		t.Fatalf("after deleting every change: Changes = %+v", got)
	}
	revokeN(t, s, "again", 1)
	if got := allChanges(t, s, 0); len(got) != 1 || got[0].Seq <= all[2].Seq {
		t.Fatalf("the change after a purge = %+v, want a Seq after %d", got, all[2].Seq)
	}
}

// FollowChanges writes changes from several goroutines through stores
// (round robin) while a follower on stores[0] reads Changes(cursor)
// again and again, moving its cursor to the last Seq it read. It fails
// unless the follower sees every change exactly once: a record that
// commits after one with a larger Seq would be skipped for ever.
func FollowChanges(t *testing.T, stores ...store.Store) {
	const writers, each = 8, 40
	ctx := t.Context()
	start, err := stores[0].LastChange(ctx)
	if err != nil {
		t.Fatalf("LastChange: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("follow-w%d-%d", w, i)
				if err := s.RevokeSessions(ctx, key, base); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	f := follower{cursor: start, seen: map[string]int64{}}
	for reads := 0; ; reads++ {
		select {
		case <-done:
			f.follow(t, stores[0]) // what committed after the last read
			t.Logf("the follower read %d times while %d changes were written", reads, writers*each)
			close(errs)
			for err := range errs {
				t.Fatalf("writer: %v", err)
			}
			// Count only this test's keys: a change another test's
			// writes left after LastChange was read may come too.
			mine := 0
			for key := range f.seen {
				if strings.HasPrefix(key, "follow-w") {
					mine++
				}
			}
			if mine != writers*each {
				t.Fatalf("the follower saw %d of %d changes", mine, writers*each)
			}
			return
		default:
			if f.follow(t, stores[0]) == 0 {
				time.Sleep(time.Millisecond) // pacing only: let the writers run
			}
		}
	}
}

// follower reads the change feed as a node does.
type follower struct {
	cursor int64
	seen   map[string]int64
}

// follow reads every change after the cursor, in pages, and returns
// how many it read.
func (f *follower) follow(t *testing.T, s store.Store) int {
	t.Helper()
	read := 0
	for {
		page, err := s.Changes(t.Context(), f.cursor, 16)
		if err != nil {
			t.Fatalf("Changes(%d): %v", f.cursor, err)
		}
		if len(page) == 0 {
			return read
		}
		read += len(page)
		for _, c := range page {
			if c.Seq <= f.cursor {
				t.Fatalf("Changes(%d) returned Seq %d", f.cursor, c.Seq)
			}
			if seq, dup := f.seen[c.Key]; dup {
				t.Fatalf("change %q seen twice (Seq %d and %d)", c.Key, seq, c.Seq)
			}
			f.seen[c.Key], f.cursor = c.Seq, c.Seq
		}
	}
}

// ListenAcross checks listener.Listen: a store without notifications
// answers ErrNoListen at once; otherwise a change written through writer
// (another handle on the same database, or the same one) wakes it, and
// it returns ctx's error once ctx is cancelled. A wake-up may miss
// writes made before LISTEN took effect, so it writes until one comes.
func ListenAcross(t *testing.T, listener, writer store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wake := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- listener.Listen(ctx, wake) }()
	for i := 0; ; i++ {
		if err := writer.RevokeSession(t.Context(), fmt.Sprintf("listen-%d", i), base); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		select {
		case <-wake:
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Listen after cancel = %v, want context.Canceled", err)
			}
			return
		case err := <-done:
			if !errors.Is(err, store.ErrNoListen) {
				t.Fatalf("Listen returned %v before any wake-up", err)
			}
			return
		case <-time.After(50 * time.Millisecond):
			if i == 200 {
				t.Fatalf("no wake-up after %d writes", i+1)
			}
		}
	}
}
