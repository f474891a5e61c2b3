package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

func testBlobRoundTrip(t *testing.T, fresh opener) {
	tests := []struct {
		name  string
		key   string
		value []byte
		mod   time.Time
	}{
		{"certificate", "certificates/acme/app.example.com/app.example.com.crt", []byte("-----BEGIN CERTIFICATE-----"), base},
		{"empty value", "acme/empty", []byte{}, base.Add(time.Second)},
		{"binary", "bin/\x00\xff", []byte{0, 1, 2, 255}, base},
		{"zero time", "zero", []byte("x"), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ctx := fresh(t), t.Context()
			if _, err := s.GetBlob(ctx, tt.key); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetBlob before PutBlob: err = %v, want ErrNotFound", err)
			}
			if _, err := s.StatBlob(ctx, tt.key); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("StatBlob before PutBlob: err = %v, want ErrNotFound", err)
			}
			if err := s.PutBlob(ctx, tt.key, []byte("old"), base.Add(-time.Hour)); err != nil {
				t.Fatalf("PutBlob: %v", err)
			}
			if err := s.PutBlob(ctx, tt.key, tt.value, tt.mod); err != nil {
				t.Fatalf("PutBlob (replace): %v", err)
			}
			got, err := s.GetBlob(ctx, tt.key)
			if err != nil {
				t.Fatalf("GetBlob: %v", err)
			}
			if got.Key != tt.key || !bytes.Equal(got.Value, tt.value) || got.Value == nil ||
				got.Size != int64(len(tt.value)) || !got.Modified.Equal(tt.mod) {
				t.Fatalf("GetBlob = %+v, want value %q, size %d, modified %v", got, tt.value, len(tt.value), tt.mod)
			}
			st, err := s.StatBlob(ctx, tt.key)
			if err != nil {
				t.Fatalf("StatBlob: %v", err)
			}
			if st.Value != nil || st.Size != int64(len(tt.value)) || !st.Modified.Equal(tt.mod) {
				t.Fatalf("StatBlob = %+v, want no value, size %d, modified %v", st, len(tt.value), tt.mod)
			}
		})
	}
}

func testBlobListDelete(t *testing.T, fresh opener) {
	keys := []string{"a", "a/b", "a/b/c", "a/bc", "a/d", "ab", "a%", "a_x", "b/a"}
	tests := []struct {
		name     string
		list     string
		wantList []string
		del      string
		wantDel  int
		left     []string
	}{
		{"directory", "a/", []string{"a/b", "a/b/c", "a/bc", "a/d"}, "a/b", 2,
			[]string{"a", "a%", "a/bc", "a/d", "a_x", "ab", "b/a"}},
		{"top", "a", []string{"a", "a%", "a/b", "a/b/c", "a/bc", "a/d", "a_x", "ab"}, "a", 5,
			[]string{"a%", "a_x", "ab", "b/a"}},
		{"wildcards are literal", "a%", []string{"a%"}, "a_", 0, keys},
		{"nothing", "zzz", []string{}, "zzz", 0, keys},
		{"everything", "", keys, "b", 1, []string{"a", "a%", "a/b", "a/b/c", "a/bc", "a/d", "a_x", "ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ctx := fresh(t), t.Context()
			for _, k := range keys {
				if err := s.PutBlob(ctx, k, []byte(k), base); err != nil {
					t.Fatalf("PutBlob(%q): %v", k, err)
				}
			}
			list, err := s.ListBlobs(ctx, tt.list)
			if err != nil {
				t.Fatalf("ListBlobs: %v", err)
			}
			if !slices.Equal(list, slices.Sorted(slices.Values(tt.wantList))) {
				t.Errorf("ListBlobs(%q) = %q, want %q", tt.list, list, tt.wantList)
			}
			n, err := s.DeleteBlobs(ctx, tt.del)
			if err != nil {
				t.Fatalf("DeleteBlobs: %v", err)
			}
			if n != tt.wantDel {
				t.Errorf("DeleteBlobs(%q) = %d, want %d", tt.del, n, tt.wantDel)
			}
			left, err := s.ListBlobs(ctx, "")
			if err != nil {
				t.Fatalf("ListBlobs: %v", err)
			}
			if !slices.Equal(left, slices.Sorted(slices.Values(tt.left))) {
				t.Errorf("after DeleteBlobs(%q): %q left, want %q", tt.del, left, tt.left)
			}
		})
	}
}

func testLocks(t *testing.T, s store.Store) {
	ctx := t.Context()
	steps := []struct {
		name, lock, owner string
		now, expires      time.Time
		want              bool
	}{
		{"free", "l", "a", base, base.Add(time.Minute), true},
		{"held by another", "l", "b", base.Add(30 * time.Second), base.Add(2 * time.Minute), false},
		{"refreshed by its owner", "l", "a", base.Add(50 * time.Second), base.Add(3 * time.Minute), true},
		{"still held after the first expiry", "l", "b", base.Add(2 * time.Minute), base.Add(4 * time.Minute), false},
		{"other lock is independent", "m", "b", base, base.Add(time.Minute), true},
		{"expired: taken over", "l", "b", base.Add(3*time.Minute + time.Nanosecond), base.Add(5 * time.Minute), true},
		{"old owner lost it", "l", "a", base.Add(4 * time.Minute), base.Add(6 * time.Minute), false},
	}
	for _, st := range steps {
		got, err := s.TryLock(ctx, st.lock, st.owner, st.now, st.expires)
		if err != nil {
			t.Fatalf("%s: TryLock: %v", st.name, err)
		}
		if got != st.want {
			t.Fatalf("%s: TryLock(%q, %q) = %v, want %v", st.name, st.lock, st.owner, got, st.want)
		}
	}
	// Unlock by a non-owner does nothing; by the owner frees the lock.
	if err := s.Unlock(ctx, "l", "a"); err != nil {
		t.Fatalf("Unlock by non-owner: %v", err)
	}
	if ok, _ := s.TryLock(ctx, "l", "c", base.Add(4*time.Minute), base.Add(5*time.Minute)); ok {
		t.Fatal("a non-owner's Unlock released the lock")
	}
	if err := s.Unlock(ctx, "l", "b"); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if ok, err := s.TryLock(ctx, "l", "c", base.Add(4*time.Minute), base.Add(5*time.Minute)); !ok || err != nil {
		t.Fatalf("TryLock after Unlock = %v, %v; want true", ok, err)
	}
	if err := s.Unlock(ctx, "never-taken", "x"); err != nil {
		t.Fatalf("Unlock of a free lock: %v", err)
	}
	// Now "l" (c) holds until base+5m and "m" (b) expired at base+1m.
	if n, err := s.DeleteExpiredLocks(ctx, base.Add(2*time.Minute)); n != 1 || err != nil {
		t.Fatalf("DeleteExpiredLocks = %d, %v; want 1 (the expired lock only)", n, err)
	}
	if ok, _ := s.TryLock(ctx, "l", "d", base.Add(4*time.Minute), base.Add(6*time.Minute)); ok {
		t.Fatal("DeleteExpiredLocks removed a lock that still holds")
	}
}

// RaceTryLock has 16 goroutines, spread over stores, take one lock at once
// with distinct owners. It fails t unless exactly one gets it. Pass several
// handles on one database to test locking across processes.
func RaceTryLock(t *testing.T, stores ...store.Store) {
	t.Helper()
	ctx := t.Context()
	const n = 16
	got := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = stores[i%len(stores)].TryLock(ctx, "race", string(rune('a'+i)), base, base.Add(time.Minute))
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("goroutine %d: TryLock: %v", i, errs[i])
		}
		if got[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d goroutines took the lock, want exactly 1", winners)
	}
}
