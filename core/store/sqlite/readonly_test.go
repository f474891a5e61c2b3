package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// makeReadOnly makes the database file and its -wal and -shm files
// unwritable for this process, and returns the function that repairs them
// (also run when t ends). As root it sets the immutable flag (chattr +i),
// which binds root too; otherwise it removes the write permission. If
// neither takes effect the test fails: a skip would hide that the
// recovery is not tested.
func makeReadOnly(t *testing.T, path string) (repair func()) {
	t.Helper()
	var files []string
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	how := "chmod 0400"
	set, unset := func(f string) error { return os.Chmod(f, 0o400) }, func(f string) error { return os.Chmod(f, 0o600) }
	if os.Geteuid() == 0 {
		how = "chattr +i"
		chattr := func(flag string) func(string) error {
			return func(f string) error {
				if out, err := exec.Command("chattr", flag, f).CombinedOutput(); err != nil {
					return fmt.Errorf("chattr %s %s: %w: %s", flag, f, err, out)
				}
				return nil
			}
		}
		set, unset = chattr("+i"), chattr("-i")
	}
	repaired := false
	repair = func() {
		if repaired {
			return
		}
		repaired = true
		for _, f := range files {
			if err := unset(f); err != nil {
				t.Errorf("repairing the database file: %v", err)
			}
		}
	}
	t.Cleanup(repair) // else the temp dir cannot be removed
	for _, f := range files {
		if err := set(f); err != nil {
			t.Fatalf("cannot make the database read-only with %s: %v; run as root on a file system with the immutable flag (ext4, xfs), or as a non-root user", how, err)
		}
	}
	if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		f.Close()
		t.Fatalf("%s did not make %s read-only for this process (uid %d); run as root on a file system with the immutable flag, or as a non-root user", how, path, os.Geteuid())
	}
	return repair
}

// A connection the pool opens while the file is read-only is opened
// read-only by SQLite and stays so. After the file is writable again, the
// store must not keep failing writes on such pooled connections: the next
// write succeeds within a bounded number of attempts (it used to fail
// until the process restarted).
func TestWritesRecoverAfterTheFileWasReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db := open(t, path)
	ctx := t.Context()
	signIn := func(i int) error {
		return db.AddSignIn(ctx, store.SignIn{At: time.Now(), App: "app", Plugin: "p", Subject: fmt.Sprintf("u%d", i), Result: "ok"})
	}
	if err := signIn(0); err != nil { // the -wal and -shm files exist now
		t.Fatalf("AddSignIn before the fault: %v", err)
	}
	// The pool is warm: read-write connections are idle in it.
	holdConns(t, db.db, 4)

	repair := makeReadOnly(t, path)
	if err := signIn(1); err == nil {
		t.Fatal("AddSignIn succeeded on a read-only file")
	}
	// Under load the pool opens more connections: read-only ones now.
	// They are released first, so they are what the pool keeps idle.
	holdConns(t, db.db, 8)
	if _, err := db.ListSignIns(ctx, 10); err != nil {
		t.Errorf("reading while the file is read-only: %v", err)
	}

	repair()
	// The next write succeeds: a statement refused on a stale read-only
	// connection is tried again on a fresh one.
	if err := signIn(2); err != nil {
		t.Fatalf("the first write after the file became writable again failed: %v", err)
	}
	if list, err := db.ListSignIns(ctx, 10); err != nil || len(list) != 2 {
		t.Fatalf("after the repair the sign-in log holds %d records (%v), want 2", len(list), err)
	}
}

// holdConns takes n connections of the pool at once, reads on each (so
// each has the file open), then returns them, the last taken first.
func holdConns(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatalf("taking connection %d: %v", i, err)
		}
		conns[i] = c
		var k int
		if err := c.QueryRowContext(t.Context(), `SELECT count(*) FROM signins`).Scan(&k); err != nil {
			t.Fatalf("reading on connection %d: %v", i, err)
		}
	}
	for i := n - 1; i >= 0; i-- {
		conns[i].Close()
	}
}

// codeError is an error with an SQLite result code, as the driver's.
type codeError int

func (e codeError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e codeError) Code() int     { return int(e) }

func TestIsReadOnly(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{codeError(8), true}, // SQLITE_READONLY
		{fmt.Errorf("recording a sign-in: %w", codeError(8|5<<8)), true}, // SQLITE_READONLY_CANTINIT, wrapped
		{codeError(8 | 6<<8), true},                                      // SQLITE_READONLY_DIRECTORY
		{codeError(10 | 3<<8), false},                                    // SQLITE_IOERR_WRITE
		{codeError(5), false},                                            // SQLITE_BUSY
		{codeError(13), false},                                           // SQLITE_FULL
		{errors.New("attempt to write a readonly database (8)"), false},
		{nil, false},
	} {
		if got := isReadOnly(tc.err); got != tc.want {
			t.Errorf("isReadOnly(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
