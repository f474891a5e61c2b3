package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCleanDir(t *testing.T) {
	for _, tc := range []struct {
		name       string
		files      []string // created before cleanDir
		wantKept   []string // all that is left afterwards
		wantKeptCA bool
	}{
		{
			name: "keeps the lock and a complete development CA",
			files: []string{".lock", "gatehouse.yaml", "gateway.log", "connector/connector.json",
				"data/gatehouse.db", "data/gatehouse.db-wal", "data/dev-tls/dev-ca.pem", "data/dev-tls/dev-ca-key.pem"},
			wantKept:   []string{".lock", "data/dev-tls/dev-ca-key.pem", "data/dev-tls/dev-ca.pem"},
			wantKeptCA: true,
		},
		{
			name:     "drops half a CA, which the gateway would refuse",
			files:    []string{"data/dev-tls/dev-ca.pem", "data/gatehouse.db"},
			wantKept: nil,
		},
		{
			name: "empty",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			keptCA, err := cleanDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					left = append(left, filepath.ToSlash(rel))
				}
				return err
			})
			slices.Sort(left)
			if !slices.Equal(left, tc.wantKept) || keptCA != tc.wantKeptCA {
				t.Errorf("left %q (kept CA %v), want %q (kept CA %v)", left, keptCA, tc.wantKept, tc.wantKeptCA)
			}
		})
	}
}
