package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// writePairs commits transactions that each add one sign-in and one
// revocation for the same subject, until ctx ends; a copy that caught
// half of one would hold a sign-in without its revocation. It counts the
// commits in n.
func writePairs(ctx context.Context, d *DB, n *atomic.Int64) error {
	for i := 0; ctx.Err() == nil; i++ {
		tx, err := d.db.BeginTx(ctx, nil)
		if err != nil {
			return ignoreDone(ctx, err)
		}
		sub := fmt.Sprintf("user-%d", i)
		_, err = tx.ExecContext(ctx, `INSERT INTO signins (at, app, plugin, subject, result, reason, client_ip)
			VALUES (?, 'app', 'sso', ?, 'signed_in', '', '127.0.0.1')`, time.Now().UnixNano(), sub)
		if err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO revocations (subject, before) VALUES (?, ?)`, sub, i)
		}
		if err == nil {
			err = tx.Commit()
		}
		if err != nil {
			tx.Rollback()
			return ignoreDone(ctx, err)
		}
		n.Add(1)
	}
	return nil
}

func ignoreDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// checkCopy opens a backup as the gateway would and checks that it holds
// whole transactions only, between lo and hi of them, and the CA.
func checkCopy(t *testing.T, path string, lo, hi int64, ca store.CA) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
	}
	c := open(t, path)
	var signins, revocations, unmatched int64
	q := c.db.QueryRowContext(t.Context(), `SELECT
		(SELECT COUNT(*) FROM signins),
		(SELECT COUNT(*) FROM revocations),
		(SELECT COUNT(*) FROM signins s LEFT JOIN revocations r USING (subject) WHERE r.subject IS NULL)`)
	if err := q.Scan(&signins, &revocations, &unmatched); err != nil {
		t.Fatal(err)
	}
	if signins != revocations || unmatched != 0 {
		t.Fatalf("torn copy: %d sign-ins, %d revocations, %d sign-ins without their revocation", signins, revocations, unmatched)
	}
	// One writer: a commit may land in the copy just before its count.
	if signins < lo || signins > hi+1 {
		t.Fatalf("the copy holds %d transactions; %d had committed when the backup started and %d when it ended", signins, lo, hi)
	}
	got, err := c.LoadCA(t.Context())
	if err != nil || !bytes.Equal(got.KeyPEM, ca.KeyPEM) {
		t.Fatalf("the copy's CA: %q, %v", got.KeyPEM, err)
	}
}

// TestBackupUnderConcurrentWrites backs up a store another handle keeps
// writing to, until one backup ran while transactions committed: every
// copy opens, passes integrity_check and holds whole transactions only.
func TestBackupUnderConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "state.db")
	d := open(t, src)
	ca := store.CA{CertPEM: []byte("cert"), KeyPEM: []byte("key")}
	if err := d.SaveCA(t.Context(), ca); err != nil {
		t.Fatal(err)
	}
	writer := open(t, src) // a second handle, as a gateway beside the CLI
	ctx, stop := context.WithCancel(t.Context())
	var n atomic.Int64
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() { werr = writePairs(ctx, writer, &n) })
	for n.Load() == 0 && ctx.Err() == nil { // the writer is under way
		time.Sleep(time.Millisecond)
	}

	overlapped := false
	for i := 0; i < 500 && !overlapped; i++ {
		dst := filepath.Join(dir, fmt.Sprintf("backup %d #1.db", i)) // " " and "#" stay part of the name
		lo := n.Load()
		res, err := Backup(t.Context(), src, dst)
		hi := n.Load()
		if err != nil {
			stop()
			t.Fatalf("Backup #%d: %v", i, err)
		}
		overlapped = hi > lo
		if fi, err := os.Stat(dst); err != nil || fi.Size() != res.Bytes || res.SchemaVersion != len(migrations) {
			t.Fatalf("Backup #%d reports %+v; the file: %v, %v; want schema version %d", i, res, fi, err, len(migrations))
		}
		checkCopy(t, dst, lo, hi, ca)
	}
	stop()
	wg.Wait()
	if werr != nil {
		t.Fatalf("the writer failed while backups ran: %v", werr)
	}
	if !overlapped {
		t.Fatal("no backup ran while the writer committed; the test proved nothing")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*partial*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left behind: %q", leftovers)
	}
}

// A backup never replaces a file, and fails before writing anything.
func TestBackupRefusesExistingFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "state.db")
	open(t, src)
	dst := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(dst, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Backup(t.Context(), src, dst)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Backup over an existing file: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "keep me" {
		t.Fatalf("the existing file changed: %q", b)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(t.Context(), src, filepath.Join(dir, "link.db")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Backup over a dangling link: %v, want fs.ErrExist", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if slices.ContainsFunc(names, func(s string) bool {
		return filepath.Ext(s) != ".db" && !slices.Contains([]string{"state.db-wal", "state.db-shm"}, s)
	}) {
		t.Fatalf("files left behind: %q", names)
	}
}

// A missing store is an error, and Backup creates neither it nor a copy.
func TestBackupMissingStore(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "missing.db"), filepath.Join(dir, "backup.db")
	if _, err := Backup(t.Context(), src, dst); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Backup of a missing store: %v, want fs.ErrNotExist", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files created: %v", entries)
	}
}

// The check of the copy fails on a damaged file and on one that is not a
// database at all.
func TestVerifyCopyFails(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "state.db")
	d := open(t, src)
	for i := range 200 {
		if err := d.PutBlob(t.Context(), fmt.Sprintf("k%03d", i), bytes.Repeat([]byte{'v'}, 200), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good.db")
	if _, err := Backup(t.Context(), src, good); err != nil {
		t.Fatal(err)
	}
	if _, err := verifyCopy(t.Context(), good); err != nil {
		t.Fatalf("the good copy: %v", err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 4*4096 {
		t.Fatalf("the copy is only %d bytes", len(b))
	}
	damaged := slices.Clone(b)
	for i := 2 * 4096; i < 3*4096; i++ { // a page in the middle: a b-tree page of the copy
		damaged[i] = 0x5a
	}
	notDB := []byte("this is not a SQLite database, only a text file of some length.......")
	for name, data := range map[string][]byte{"damaged.db": damaged, "text.db": notDB} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := verifyCopy(t.Context(), path); err == nil {
			t.Errorf("%s passed the check", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
