package acme

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"go.uber.org/zap"
)

// TestZapToSlog checks the one edge between certmagic's zap logs and the
// gateway's slog: level, message, logger name, With fields and call
// fields arrive, and levels below the slog handler's are dropped.
func TestZapToSlog(t *testing.T) {
	var buf bytes.Buffer
	zl := newZapLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	zl.Named("certmagic").With(zap.String("issuer", "acme")).Warn("obtaining certificate",
		zap.String("identifier", "hr.example.com"), zap.Int("attempt", 2))
	zl.Debug("below the handler's level")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1 (the debug entry must be dropped):\n%s", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal(lines[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"level": "WARN", "msg": "obtaining certificate", "logger": "certmagic",
		"issuer": "acme", "identifier": "hr.example.com", "attempt": float64(2),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, got[k], v, lines[0])
		}
	}
}
