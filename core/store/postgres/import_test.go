package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// populatedSQLite fills a real SQLite store through the Store interface
// with a record of every kind a migration copies, closes it and returns
// its path.
func populatedSQLite(t *testing.T, now time.Time) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SaveCA(ctx, store.CA{CertPEM: []byte("-----BEGIN CERTIFICATE-----\nca\n"), KeyPEM: []byte("ca key\x00\xff")}))
	for i, grp := range []string{"b", "a", "a"} {
		must(s.CreateToken(ctx, store.Token{ID: fmt.Sprintf("tok%d", i), SecretHash: bytes.Repeat([]byte{byte(i)}, 32),
			Group: grp, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Duration(i+1) * time.Hour)}))
	}
	must(s.UseToken(ctx, "tok1", now.Add(-time.Minute)))
	for i, grp := range []string{"b", "a"} {
		must(s.AddConnector(ctx, store.Connector{ID: fmt.Sprintf("conn%d", i), Group: grp, Hostname: "host", Version: "v1",
			Addr: "10.0.0.1:1234", CertSerial: fmt.Sprintf("%x", 1000+i), CreatedAt: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour)}))
	}
	must(s.TouchConnector(ctx, "conn1", now.Add(-time.Second), "10.0.0.2:999", "v2"))
	for _, k := range []string{"certificates/acme/x.test/x.test.crt", "certificates/acme/x.test/x.test.key",
		"acme/acct/e@x.test.json", "keys/\x00odd key é", "locks-not-a-lock"} {
		must(s.PutBlob(ctx, k, []byte("value of "+k), now.Add(-time.Duration(len(k))*time.Second)))
	}
	must(s.RevokeSessions(ctx, "alice", now.Add(-2*time.Minute)))
	must(s.RevokeSessions(ctx, "bob", now.Add(-3*time.Minute)))
	must(s.RevokeSession(ctx, "sess-live", now.Add(time.Hour)))
	must(s.RevokeSession(ctx, "sess-expired", now.Add(-time.Hour)))
	must(s.PutCredential(ctx, "wiki", "alice", []byte("sealed\x00bytes")))
	must(s.PutCredential(ctx, "mail", "*", []byte("shared sealed")))
	for i, res := range []string{"signed_in", "denied", "challenged"} {
		must(s.AddSignIn(ctx, store.SignIn{At: now.Add(time.Duration(i-10) * time.Minute), App: "wiki", Plugin: "idp",
			Subject: "alice", Result: res, Reason: "r" + res, ClientIP: "192.0.2.1"}))
	}
	_, err = s.TryLock(ctx, "a lock", "node-1", now, now.Add(time.Hour)) // runtime state: not copied
	must(err)
	return path
}

// TestImportFromSQLite copies a populated SQLite store into an empty
// PostgreSQL database and reads every table back through the interface;
// a second copy into the same database is refused and changes nothing.
func TestImportFromSQLite(t *testing.T) {
	dsn := freshDSN(t)
	ctx := t.Context()
	now := time.Now()
	src, err := sqlite.OpenReadOnly(ctx, populatedSQLite(t, now))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap, err := store.ReadSnapshot(ctx, src, src, now)
	if err != nil {
		t.Fatal(err)
	}
	want := "ca=1 tokens=3 connectors=2 blobs=5 revocations=2 sign-outs=1 credentials=2 sign-ins=3"
	if got := countString(snap.Counts()); got != want {
		t.Fatalf("source snapshot: %s, want %s", got, want)
	}
	if snap.Tokens[1].UsedAt.IsZero() || snap.SignIns[0].Result != "signed_in" || snap.Connectors[0].Version != "v2" {
		t.Fatalf("source snapshot lost a field: %+v %+v %+v", snap.Tokens[1], snap.SignIns[0], snap.Connectors[0])
	}
	if err := src.PutBlob(ctx, "x", nil, now); err == nil {
		t.Fatal("the read-only source took a write")
	}

	// Inspect (the dry run) creates nothing: no schema appears.
	for range 2 {
		counts, err := Inspect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if got := countString(counts); got != "ca=0 tokens=0 connectors=0 blobs=0 revocations=0 sign-outs=0 credentials=0 sign-ins=0" {
			t.Fatalf("Inspect of an empty database: %s", got)
		}
	}
	db := open(t, dsn, Options{})
	var tables int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'ca'`).Scan(&tables); err != nil || tables != 1 {
		t.Fatalf("after Open: %d ca tables, %v", tables, err)
	}
	if err := db.Import(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if err := store.Verify(ctx, db, snap, now); err != nil {
		t.Fatalf("read back: %v", err)
	}
	// Spot checks through the interface, independent of Verify.
	if tok, err := db.GetToken(ctx, "tok1"); err != nil || !tok.UsedAt.Equal(snap.Tokens[1].UsedAt) {
		t.Fatalf("tok1: %+v %v", tok, err)
	}
	if err := db.UseToken(ctx, "tok1", now); !errors.Is(err, store.ErrUsed) {
		t.Fatalf("UseToken on a copied used token: %v, want ErrUsed", err)
	}
	if b, _, err := db.Revocation(ctx, "alice", "sess-live"); err != nil || !b.Equal(now.Add(-2*time.Minute)) {
		t.Fatalf("alice's revocation line: %v %v", b, err)
	}
	if out, err := db.SessionRevoked(ctx, "sess-live"); err != nil || !out {
		t.Fatalf("sess-live signed out: %v %v", out, err)
	}
	if ok, err := db.TryLock(ctx, "a lock", "node-2", now, now.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("the source's lock was copied: %v %v", ok, err)
	}
	if sealed, err := db.GetCredential(ctx, "wiki", "alice"); err != nil || string(sealed) != "sealed\x00bytes" {
		t.Fatalf("credentials: %q %v", sealed, err)
	}
	if err := db.AddSignIn(ctx, store.SignIn{At: now, Result: "signed_in"}); err != nil {
		t.Fatal(err)
	}
	if l, err := db.ListSignIns(ctx, 10); err != nil || len(l) != 4 || l[1].Result != "challenged" {
		t.Fatalf("sign-ins after the copy: %+v %v (want the new one, then the copied ones newest first)", l, err)
	}

	// A second copy is refused, and writes nothing.
	err = db.Import(ctx, snap)
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "tokens 3") {
		t.Fatalf("a copy into a non-empty database: %v, want ErrNotEmpty listing what it holds", err)
	}
	if l, _ := db.ListConnectors(ctx); len(l) != 2 {
		t.Fatalf("after a refused copy: %d connectors, want 2", len(l))
	}
}

// TestImportIsOneTransaction: a copy that fails part-way (a duplicate
// key in the last table written) leaves the target empty.
func TestImportIsOneTransaction(t *testing.T) {
	db := open(t, freshDSN(t), Options{})
	ctx := t.Context()
	now := time.Now()
	snap := &store.Snapshot{CA: &store.CA{CertPEM: []byte("c"), KeyPEM: []byte("k")},
		Tokens:      []store.Token{{ID: "t", SecretHash: []byte("h"), Group: "g"}},
		Credentials: []store.Credential{{App: "a", Subject: "s", Sealed: []byte("1")}, {App: "a", Subject: "s", Sealed: []byte("2")}}}
	if err := db.Import(ctx, snap); err == nil || !strings.Contains(err.Error(), "nothing was copied") {
		t.Fatalf("Import with a duplicate key: %v, want a failure", err)
	}
	if _, err := db.LoadCA(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after a failed copy, LoadCA: %v, want ErrNotFound", err)
	}
	snap.Credentials = snap.Credentials[:1]
	if err := db.Import(ctx, snap); err != nil {
		t.Fatalf("the copy after a failed one: %v", err)
	}
	if err := store.Verify(ctx, db, snap, now); err != nil {
		t.Fatal(err)
	}
}

func countString(counts []store.TableCount) string {
	var s []string
	for _, c := range counts {
		s = append(s, fmt.Sprintf("%s=%d", c.Table, c.N))
	}
	return strings.Join(s, " ")
}
