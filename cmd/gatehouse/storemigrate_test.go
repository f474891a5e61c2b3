package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// store migrate: usage errors (exit 2) for missing or malformed --from and
// --to; a missing source is an error that creates nothing; a target that
// cannot be reached or parsed never shows the DSN's password.
func TestStoreMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "gatehouse.db")
	s, err := sqlite.Open(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	runIt := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"store", "migrate"}, args...), &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}
	var ue usageError
	for _, args := range [][]string{
		{}, {"--from", "sqlite:" + src}, {"--to", "postgres:x"}, {"--from", src, "--to", "postgres:x"},
		{"--from", "sqlite:" + src, "--to", "mysql://u:p@h/d"}, {"--from", "sqlite:" + src, "--to", "postgres:"},
		{"--from", "sqlite:" + src, "--to", "postgres:x", "extra"},
	} {
		if _, err := runIt(args...); !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if _, err := runIt("--bogus"); !errors.As(err, &flagError{}) {
		t.Errorf("an unknown flag: %v, want a flag error", err)
	}

	missing := filepath.Join(dir, "nope.db")
	if _, err := runIt("--from", "sqlite:"+missing, "--to", "postgres://u:pw@127.0.0.1:1/d"); err == nil || errors.As(err, &ue) {
		t.Fatalf("a missing source: %v, want a plain error", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the missing source was created: %v", err)
	}

	const pw = "Sup3r-s3cret-pw"
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte("postgres://gatehouse:"+pw+"@127.0.0.1:1/gatehouse?connect_timeout=2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{
		"postgres-file:" + dsnFile,
		"postgres://gatehouse:" + pw + "@127.0.0.1:1/gatehouse?connect_timeout=2",
		"postgres:host=127.0.0.1 port=1 user=gatehouse password=" + pw + " connect_timeout=2",
		"postgres://gatehouse:" + pw + "@127.0.0.1:notaport/gatehouse",
	} {
		for _, dry := range []bool{false, true} {
			args := []string{"--from", "sqlite:" + src, "--to", to}
			if dry {
				args = append(args, "--dry-run")
			}
			out, err := runIt(args...)
			if err == nil || errors.As(err, &ue) {
				t.Fatalf("an unreachable target (dry run %v): %v, want a plain error", dry, err)
			}
			if strings.Contains(out+err.Error(), pw) {
				t.Fatalf("the password is shown (dry run %v):\n%s%v", dry, out, err)
			}
		}
	}
	if _, err := runIt("--from", "sqlite:"+src, "--to", "postgres-file:"+filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "reading the connection string") {
		t.Fatalf("a missing DSN file: %v", err)
	}
}
