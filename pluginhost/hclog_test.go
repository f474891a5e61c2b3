package pluginhost

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLoggerMapsLevelsAndKeepsTags(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})).With("plugin", "header"))
	if l.GetLevel() != hclog.Info || l.IsDebug() || !l.IsWarn() {
		t.Errorf("level: GetLevel %v IsDebug %v IsWarn %v; want the slog handler's Info", l.GetLevel(), l.IsDebug(), l.IsWarn())
	}
	l.Debug("hidden")
	l.Named("stdio").With("id", 1).Warn("plugin process exited", "plugin", "/usr/bin/x", "timestamp", "t0", "code", 2)
	got := buf.String()
	want := `level=WARN msg="plugin process exited" plugin=header id=1 binary=/usr/bin/x code=2` + "\n"
	if !strings.HasSuffix(got, want) || strings.Contains(got, "hidden") {
		t.Fatalf("got %q, want a line ending %q and no debug line", got, want)
	}
}
