package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/store/sqlite"
)

// The 10,000-app figures of the scale benchmark (./bench/run.sh --scale
// runs these after its real-process figures): reading and checking the
// config file, and Apply (the snapshot build and the swap) on a gateway.

const benchApps = 10000

// writeBigConfig writes a config with apps apps spread over 100 groups,
// suffix added to every app's backend so two files differ in every app.
func writeBigConfig(b *testing.B, dir, name, suffix string, apps int) string {
	b.Helper()
	var s strings.Builder
	fmt.Fprintf(&s, "data_dir: %q\nlisten: {public: \"127.0.0.1:0\", tunnel: \"127.0.0.1:0\"}\nconnector_groups:\n", filepath.Join(dir, "data"))
	for g := range 100 {
		fmt.Fprintf(&s, "  - name: g%02d\n", g)
	}
	s.WriteString("apps:\n")
	for i := range apps {
		fmt.Fprintf(&s, "  - name: app%05d\n    host: app%05d.example.com\n    group: g%02d\n    auth: passthrough\n    backend:\n      url: http://10.0.%d.%d/%s\n",
			i, i, i%100, i/250, i%250+1, suffix)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkLoad10kApps(b *testing.B) {
	path := writeBigConfig(b, b.TempDir(), "gatehouse.yaml", "a", benchApps)
	for b.Loop() {
		cfg, err := config.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Apps) != benchApps {
			b.Fatalf("%d apps loaded, want %d", len(cfg.Apps), benchApps)
		}
	}
}

// BenchmarkApply10kApps swaps between two 10,000-app configs that differ
// in every app's backend, so each Apply builds a whole new snapshot.
func BenchmarkApply10kApps(b *testing.B) {
	dir := b.TempDir()
	var cfgs [2]*config.Config
	for i, suffix := range []string{"a", "b"} {
		c, err := config.Load(writeBigConfig(b, dir, "gatehouse-"+suffix+".yaml", suffix, benchApps))
		if err != nil {
			b.Fatal(err)
		}
		cfgs[i] = c
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	g, err := New(context.Background(), cfgs[0], Options{Store: db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	i := 0
	for b.Loop() {
		i++
		if err := g.Apply(cfgs[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}
