package sqlite

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/storetest"
)

// open opens the database at path and closes it when t ends.
func open(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}

// TestTwoHandles opens the file twice, as a gateway and a CLI command would.
func TestTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	gateway, cli := open(t, path), open(t, path)
	ctx := t.Context()

	tok := store.Token{ID: "t1", SecretHash: []byte("hash"), Group: "edge", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := cli.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if _, err := gateway.GetToken(ctx, "t1"); err != nil {
		t.Fatalf("other handle: GetToken: %v", err)
	}
	if err := gateway.AddConnector(ctx, store.Connector{ID: "c1", Group: "edge"}); err != nil {
		t.Fatalf("AddConnector: %v", err)
	}
	if list, err := cli.ListConnectors(ctx); err != nil || len(list) != 1 || list[0].ID != "c1" {
		t.Fatalf("other handle: ListConnectors = %+v, %v; want c1", list, err)
	}

	storetest.RaceUseToken(t, gateway, cli)
	storetest.RaceTryLock(t, gateway, cli)
	storetest.FollowChanges(t, gateway, cli)
	storetest.ListenAcross(t, gateway, cli)
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := t.Context()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ca := store.CA{CertPEM: []byte("cert"), KeyPEM: []byte("key")}
	seen := time.Now()
	if err := db.SaveCA(ctx, ca); err != nil {
		t.Fatalf("SaveCA: %v", err)
	}
	if err := db.CreateToken(ctx, store.Token{ID: "t1", SecretHash: []byte("hash"), Group: "edge"}); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if err := db.AddConnector(ctx, store.Connector{ID: "c1", Group: "edge", LastSeen: seen}); err != nil {
		t.Fatalf("AddConnector: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = open(t, path)
	if got, err := db.LoadCA(ctx); err != nil || !bytes.Equal(got.CertPEM, ca.CertPEM) {
		t.Errorf("after re-open: LoadCA = %q, %v; want cert %q", got.CertPEM, err, ca.CertPEM)
	}
	if _, err := db.GetToken(ctx, "t1"); err != nil {
		t.Errorf("after re-open: GetToken: %v", err)
	}
	if got, err := db.GetConnector(ctx, "c1"); err != nil || !got.LastSeen.Equal(seen) {
		t.Errorf("after re-open: GetConnector = %+v, %v; want LastSeen %v", got, err, seen)
	}
}

func TestReopenDoesNotRemigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := t.Context()
	for i := range 3 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		// Each open adds a connector; all earlier ones must still be there.
		if err := db.AddConnector(ctx, store.Connector{ID: string(rune('a' + i)), Group: "g"}); err != nil {
			t.Fatalf("Open #%d: AddConnector: %v", i+1, err)
		}
		list, err := db.ListConnectors(ctx)
		if err != nil || len(list) != i+1 {
			t.Fatalf("Open #%d: ListConnectors = %+v, %v; want %d connectors", i+1, list, err, i+1)
		}
		var versions, maxVersion int
		if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&versions, &maxVersion); err != nil {
			t.Fatalf("reading schema_version: %v", err)
		}
		if versions != len(migrations) || maxVersion != len(migrations) {
			t.Fatalf("Open #%d: schema_version has %d rows up to %d, want %d", i+1, versions, maxVersion, len(migrations))
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := open(t, path)
	if _, err := db.db.ExecContext(t.Context(), `INSERT INTO schema_version (version, applied_at) VALUES (?, 0)`, len(migrations)+1); err != nil {
		t.Fatalf("recording a future version: %v", err)
	}
	if db, err := Open(t.Context(), path); err == nil {
		db.Close()
		t.Fatal("Open succeeded on a database from a newer build")
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "missing", "data")
	path := filepath.Join(dir, "state.db")
	db := open(t, path)
	if err := db.SaveCA(t.Context(), store.CA{CertPEM: []byte("c"), KeyPEM: []byte("k")}); err != nil {
		t.Fatalf("SaveCA: %v", err) // a write, so the WAL file exists
	}
	for _, f := range []struct {
		path string
		want os.FileMode
	}{
		{dir, os.ModeDir | 0o700},
		{path, 0o600},
		{path + "-wal", 0o600},
	} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != f.want {
			t.Errorf("%s: mode %v, want %v", f.path, fi.Mode(), f.want)
		}
	}

	var mode string
	if err := db.db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenRejectsQuestionMark(t *testing.T) {
	_, err := Open(t.Context(), filepath.Join(t.TempDir(), "state.db?mode=ro"))
	if err == nil {
		t.Fatal("Open accepted a path with '?'")
	}
}

func TestUseTokenZeroTime(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "state.db"))
	if err := db.CreateToken(t.Context(), store.Token{ID: "t1", SecretHash: []byte("hash")}); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if err := db.UseToken(t.Context(), "t1", time.Time{}); err == nil || errors.Is(err, store.ErrUsed) {
		t.Fatalf("UseToken with zero time: err = %v, want a usage error", err)
	}
	if err := db.UseToken(t.Context(), "t1", time.Now()); err != nil {
		t.Fatalf("UseToken after the rejected call: %v", err)
	}
}

// TestConcurrentOpensOfFreshFile: processes starting at once on a new
// file all open it. Before Open waited out SQLITE_BUSY itself, about one
// round in thirty failed with "database is locked".
func TestConcurrentOpensOfFreshFile(t *testing.T) {
	for round := range 30 {
		path := filepath.Join(t.TempDir(), "gh.db")
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				db, err := Open(t.Context(), path)
				if err != nil {
					t.Errorf("round %d: %v", round, err)
					return
				}
				db.Close()
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
	}
}
