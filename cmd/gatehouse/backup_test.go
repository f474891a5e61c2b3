package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimalConfig writes a gateway config with its store in dir/data.
func minimalConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "gatehouse.yaml")
	cfg := "data_dir: data\nlisten:\n  public: \"127.0.0.1:0\"\n  tunnel: \"127.0.0.1:0\"\nconnector_groups:\n  - name: g\napps: []\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// store backup: a usage error without FILE (exit 2), a plain error for a
// missing store or an existing FILE (exit 1), and a copy with mode 0600
// that "token create" wrote to, whether --config comes before or after FILE.
func TestStoreBackupCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := minimalConfig(t, dir)
	ctx := context.Background()
	runIt := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}
	var ue usageError
	for _, args := range [][]string{{"store"}, {"store", "restore"}, {"store", "backup", "--config", cfg}, {"store", "backup", "a", "b"}} {
		if _, err := runIt(args...); !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	backup := filepath.Join(dir, "backup.db")
	if _, err := runIt("store", "backup", "--config", cfg, backup); !errors.Is(err, fs.ErrNotExist) || errors.As(err, &ue) {
		t.Fatalf("backup before the store exists: %v, want a not-exist error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "gatehouse.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the backup created the store: %v", err)
	}
	if out, err := runIt("token", "create", "--config", cfg, "--group", "g"); err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	out, err := runIt("store", "backup", backup, "--config", cfg)
	if err != nil || !strings.Contains(out, "integrity check ok") {
		t.Fatalf("store backup: %v\n%s", err, out)
	}
	fi, err := os.Stat(backup)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
		t.Fatalf("the backup: %v, %v", fi, err)
	}
	before, _ := os.ReadFile(backup)
	out, err = runIt("store", "backup", "--config", cfg, backup)
	if !errors.Is(err, fs.ErrExist) || errors.As(err, &ue) || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("a second backup to the same file: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(backup); !bytes.Equal(before, after) {
		t.Fatal("the refused backup changed the file")
	}
}
