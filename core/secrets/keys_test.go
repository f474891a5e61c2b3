package secrets

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// Two nodes starting at once on one store get the same keys, and a
// restart loads them again.
func TestLoadCreatesOnceAndPersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gh.db")
	var sets [4]*Set
	var wg sync.WaitGroup
	for i := range sets {
		wg.Go(func() {
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Error(err)
				return
			}
			defer db.Close()
			if sets[i], err = Load(ctx, db, time.Now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, s := range sets[1:] {
		if !bytes.Equal(s.Cookie, sets[0].Cookie) || !s.Envelope.Equal(sets[0].Envelope) || s.Assertion.ID != sets[0].Assertion.ID {
			t.Fatal("nodes loaded different keys")
		}
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	again, err := Load(ctx, db, time.Now)
	if err != nil || !again.Envelope.Equal(sets[0].Envelope) {
		t.Fatalf("after restart: %v", err)
	}
	if bytes.Equal(again.Cookie, make([]byte, 32)) {
		t.Fatal("cookie key is all zeros")
	}
}

func TestLoadRefusesDamagedEntry(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutBlob(ctx, blobKey, []byte(`{"cookie":"AAAA"}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, db, time.Now); err == nil {
		t.Fatal("a damaged key entry was accepted")
	}
}
