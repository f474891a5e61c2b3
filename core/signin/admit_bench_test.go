package signin

import (
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/session"
)

// BenchmarkAdmitSignedIn is the gateway's cost of a signed-in request:
// the session cookie opened, revocation and policy checked, the
// admission made.
func BenchmarkAdmitSignedIn(b *testing.B) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	sealer, _ := session.NewSealer(make([]byte, 32))
	_, priv, _ := ed25519.GenerateKey(nil)
	gate := &Gate{Sealer: sealer, Envelope: priv, Store: memStore{}, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	app := &App{Name: "hr", Host: "hr.example.com", Prefix: "/", Plugin: "p", Auth: &countingAuth{}, Lifetime: time.Hour, Gate: gate}
	r := httptest.NewRequest("GET", "https://hr.example.com/x", nil)
	r.Header.Set("X-Key", "k")
	w := httptest.NewRecorder()
	if _, ok := app.Admit(w, r, "rid"); !ok {
		b.Fatalf("sign-in: %d", w.Code)
	}
	c := w.Result().Cookies()[0]
	line := "other=1; " + c.Name + "=" + c.Value
	r = httptest.NewRequest("GET", "https://hr.example.com/x", nil)
	r.Header = http.Header{"Cookie": {line}, "Accept": {"*/*"}}
	w = httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r.Header["Cookie"] = []string{line}
		if _, ok := app.Admit(w, r, "rid"); !ok {
			b.Fatal("refused")
		}
	}
}
