package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store/postgres"
	"github.com/gatehouse/gatehouse/core/store/postgres/pglab"
)

// TestOpenStorePostgres: store.driver postgres with a dsn_file opens the
// database it names, with the pool limits of the config file.
func TestOpenStorePostgres(t *testing.T) {
	lab, err := pglab.Start(context.Background())
	if errors.Is(err, pglab.ErrSkip) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Stop(); err != nil {
			t.Error(err)
		}
	})
	dsn, err := lab.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "gatehouse.yaml")
	yaml := "store:\n  driver: postgres\n  dsn_file: pg.dsn\n  max_conns: 3\n  min_conns: 1\n" +
		"connector_groups:\n  - name: default\n"
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, ok := st.(*postgres.DB)
	if !ok {
		t.Fatalf("openStore returned a %T, want *postgres.DB", st)
	}
	if maxConns, _ := db.PoolStat(); maxConns != 3 {
		t.Errorf("pool max conns = %d, want store.max_conns 3", maxConns)
	}
	now := time.Now()
	if err := st.PutBlob(t.Context(), "acme/account", []byte("v"), now); err != nil {
		t.Fatal(err)
	}
	if b, err := st.GetBlob(t.Context(), "acme/account"); err != nil || string(b.Value) != "v" || !b.Modified.Equal(now) {
		t.Fatalf("GetBlob = %+v, %v", b, err)
	}
}
