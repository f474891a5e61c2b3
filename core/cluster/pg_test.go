package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/postgres"
	"github.com/gatehouse/gatehouse/core/store/postgres/pglab"
)

// lab is the PostgreSQL server of the package's tests (nil without one).
var lab *pglab.Lab

// postgresBackend runs the tests on PostgreSQL when the lab runs (its
// fresh is nil otherwise). cut refuses connections to the database and
// ends the open ones: the store is unreachable for every handle.
var postgresBackend backend

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	lab, err = pglab.Start(context.Background())
	switch {
	case errors.Is(err, pglab.ErrSkip):
		fmt.Println("cluster: tests on PostgreSQL skipped:", err)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	default:
		postgresBackend = backend{name: "postgres", fresh: freshPostgres}
	}
	defer func() {
		if err := lab.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	return m.Run()
}

func freshPostgres(t *testing.T) (func(*testing.T) store.Store, func(*testing.T) func()) {
	dsn, err := lab.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
	open := func(t *testing.T) store.Store {
		db, err := postgres.Open(t.Context(), dsn, postgres.Options{})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	cut := func(t *testing.T) func() {
		admin(t, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
		admin(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+strings.Trim(name, `"`)+"'")
		return func() { admin(t, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true") }
	}
	return open, cut
}

// admin runs sql on the lab's own database as the superuser.
func admin(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), lab.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// listeners returns the pids of the sessions on database dbname whose
// latest statement was LISTEN (a follower's notification connection).
func listeners(t *testing.T, dbname string) []int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), lab.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'listen%'`, dbname)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

// TestListenWakesTheFollower proves the LISTEN path: with both poll
// intervals an hour, only a notification can bring another handle's
// revocation to the replica. After the listening connection is killed,
// the follower logs it once, listens again, and the next revocation
// arrives the same way.
func TestListenWakesTheFollower(t *testing.T) {
	if lab == nil {
		t.Skip("no PostgreSQL lab (see the TestMain message)")
	}
	dsn, err := lab.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	dbname := strings.TrimPrefix(u.Path, "/")
	node, cli := openPG(t, dsn), openPG(t, dsn)
	log, logs := newLogger()
	r, _, applied := replica(t, node, FollowerOptions{PollInterval: time.Hour, FastPoll: time.Hour, Logger: log})
	ctx := t.Context()
	for round, subject := range []string{"alice", "bob"} {
		var pids []int
		waitFor(t, "a LISTEN session", func() bool { pids = listeners(t, dbname); return len(pids) == 1 })
		at := time.Now()
		if err := cli.RevokeSessions(ctx, subject, at); err != nil {
			t.Fatal(err)
		}
		recvKey(t, applied, subject)
		if before, _ := r.Revocation(subject, ""); !before.Equal(at) {
			t.Fatalf("round %d: %s's line is %v, want %v", round, subject, before, at)
		}
		if round == 0 {
			admin(t, fmt.Sprintf("SELECT pg_terminate_backend(%d)", pids[0]))
			waitFor(t, "the listen failure to be logged", func() bool { return logs.count("listening for store notifications failed") == 1 })
			waitFor(t, "a new LISTEN session", func() bool { p := listeners(t, dbname); return len(p) == 1 && p[0] != pids[0] })
		}
	}
	if n := logs.count("listening for store notifications failed"); n != 1 {
		t.Fatalf("logged %d listen failures, want 1:\n%s", n, logs)
	}
}

// openPG opens a handle to the database at dsn, closed when t ends.
func openPG(t *testing.T, dsn string) store.Store {
	db, err := postgres.Open(t.Context(), dsn, postgres.Options{})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
