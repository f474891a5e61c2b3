package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/postgres/pglab"
	"github.com/gatehouse/gatehouse/core/store/storetest"
)

// lab is the PostgreSQL server of the package's tests, one per test
// binary; nil when there is none, and labSkip says why.
var (
	lab     *pglab.Lab
	labSkip string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	start := time.Now()
	var err error
	lab, err = pglab.Start(context.Background())
	switch {
	case errors.Is(err, pglab.ErrSkip):
		labSkip = err.Error()
		fmt.Println("postgres: tests against a real PostgreSQL skipped:", labSkip)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	default:
		fmt.Printf("postgres: PostgreSQL lab in %s on port %s (started in %v)\n", lab.Dir, lab.Port, time.Since(start).Round(time.Millisecond))
	}
	defer func() {
		if err := lab.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

// freshDSN returns the DSN of a new, empty database, or skips t when
// there is no lab.
func freshDSN(t testing.TB) string {
	t.Helper()
	if lab == nil {
		t.Skip(labSkip)
	}
	dsn, err := lab.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// open opens the database at dsn and closes it when t ends.
func open(t testing.TB, dsn string, opts Options) *DB {
	t.Helper()
	db, err := Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestConformance runs the store conformance suite, each case on a new
// database of the one server.
func TestConformance(t *testing.T) {
	if lab == nil {
		t.Skip(labSkip)
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := Open(t.Context(), freshDSN(t), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}

// TestTwoHandles uses one database through two pools, as two gateway
// nodes would: what one writes the other reads, and the token and lock
// races are decided across them.
func TestTwoHandles(t *testing.T) {
	dsn := freshDSN(t)
	nodeA, nodeB := open(t, dsn, Options{}), open(t, dsn, Options{})
	ctx := t.Context()
	if err := nodeA.AddConnector(ctx, store.Connector{ID: "c1", Group: "edge"}); err != nil {
		t.Fatalf("AddConnector: %v", err)
	}
	if list, err := nodeB.ListConnectors(ctx); err != nil || len(list) != 1 || list[0].ID != "c1" {
		t.Fatalf("other handle: ListConnectors = %+v, %v; want c1", list, err)
	}
	storetest.RaceUseToken(t, nodeA, nodeB)
	storetest.RaceTryLock(t, nodeA, nodeB)
	storetest.FollowChanges(t, nodeA, nodeB)
	storetest.ListenAcross(t, nodeA, nodeB)
}

// TestLockOfAClosedHandle: a node that took a lock and died (its pool
// closed without Unlock) holds it until it expires, not for ever.
func TestLockOfAClosedHandle(t *testing.T) {
	dsn := freshDSN(t)
	now := time.Unix(1_900_000_000, 0)
	crashed, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := crashed.TryLock(t.Context(), "cert/app.example.com", "node-a", now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	crashed.Close()
	other := open(t, dsn, Options{})
	if ok, err := other.TryLock(t.Context(), "cert/app.example.com", "node-b", now.Add(59*time.Second), now.Add(2*time.Minute)); ok || err != nil {
		t.Fatalf("TryLock while the dead node's lock holds = %v, %v; want false", ok, err)
	}
	if ok, err := other.TryLock(t.Context(), "cert/app.example.com", "node-b", now.Add(61*time.Second), now.Add(2*time.Minute)); !ok || err != nil {
		t.Fatalf("TryLock after the dead node's lock expired = %v, %v; want true", ok, err)
	}
}

// TestConcurrentOpensMigrateOnce: nodes starting at once on a new
// database all open it, and exactly one of them creates the schema.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	for round := range 5 {
		dsn := freshDSN(t)
		const nodes = 4
		dbs := make([]*DB, nodes)
		errs := make([]error, nodes)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() {
				<-start
				dbs[i], errs[i] = Open(t.Context(), dsn, Options{})
			})
		}
		close(start)
		wg.Wait()
		migrators := 0
		for i := range nodes {
			if errs[i] != nil {
				t.Fatalf("round %d: Open #%d: %v", round, i, errs[i])
			}
			defer dbs[i].Close()
			switch dbs[i].migrated {
			case 0:
			case len(migrations):
				migrators++
			default:
				t.Errorf("round %d: Open #%d applied %d of %d versions", round, i, dbs[i].migrated, len(migrations))
			}
		}
		if migrators != 1 {
			t.Fatalf("round %d: %d Opens created the schema, want exactly 1", round, migrators)
		}
		var rows, max int
		if err := dbs[0].pool.QueryRow(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&rows, &max); err != nil {
			t.Fatal(err)
		}
		if rows != len(migrations) || max != len(migrations) {
			t.Fatalf("round %d: schema_version has %d rows up to %d, want %d", round, rows, max, len(migrations))
		}
	}
}

func TestReopenKeepsDataAndDoesNotRemigrate(t *testing.T) {
	dsn := freshDSN(t)
	ctx := t.Context()
	for i := range 3 {
		db, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		if want := map[bool]int{true: len(migrations), false: 0}[i == 0]; db.migrated != want {
			t.Errorf("Open #%d applied %d versions, want %d", i+1, db.migrated, want)
		}
		// Each open adds a connector; all earlier ones must still be there.
		if err := db.AddConnector(ctx, store.Connector{ID: string(rune('a' + i)), Group: "g", LastSeen: time.Now()}); err != nil {
			t.Fatalf("Open #%d: AddConnector: %v", i+1, err)
		}
		if list, err := db.ListConnectors(ctx); err != nil || len(list) != i+1 {
			t.Fatalf("Open #%d: ListConnectors = %+v, %v; want %d connectors", i+1, list, err, i+1)
		}
		db.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dsn := freshDSN(t)
	db := open(t, dsn, Options{})
	if _, err := db.pool.Exec(t.Context(), `INSERT INTO schema_version (version, applied_at) VALUES ($1, 0)`, len(migrations)+1); err != nil {
		t.Fatalf("recording a future version: %v", err)
	}
	again, err := Open(t.Context(), dsn, Options{})
	if err == nil {
		again.Close()
		t.Fatal("Open succeeded on a database from a newer build")
	}
	t.Logf("Open on a newer schema: %v", err)
}
