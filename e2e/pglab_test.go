package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/core/store/postgres/pglab"
)

// pgLabDSNFile starts a private PostgreSQL lab for t (scripts/pglab.sh,
// through pglab; GATEHOUSE_PGLAB=DIR reuses a running one), creates an
// empty database in it and returns a file holding its connection string,
// for the store.dsn_file of gateway nodes that share it. It skips t,
// saying why, when the lab cannot run here.
func pgLabDSNFile(t *testing.T) string {
	t.Helper()
	lab, err := pglab.Start(t.Context())
	if errors.Is(err, pglab.ErrSkip) {
		t.Skipf("SKIPPING: no PostgreSQL for the gateway nodes' shared store: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Stop(); err != nil {
			t.Errorf("stopping the PostgreSQL lab: %v", err)
		}
	})
	dsn, err := lab.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "store.dsn")
	if err := os.WriteFile(file, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
