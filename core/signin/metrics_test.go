package signin

import (
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/metrics"
	"github.com/gatehouse/gatehouse/core/policy"
	"github.com/gatehouse/gatehouse/core/session"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSignInMetrics: sign-ins and refusals are counted by outcome, and
// refusals by a reason from the fixed list (the access rule that said
// no), never by what the client or the plug-in said.
func TestSignInMetrics(t *testing.T) {
	m := metrics.New("v")
	sealer, _ := session.NewSealer(make([]byte, 32))
	_, priv, _ := ed25519.GenerateKey(nil)
	gate := &Gate{Sealer: sealer, Envelope: priv, Store: memStore{}, Logger: slog.New(slog.DiscardHandler),
		Now: time.Now, Metrics: m}
	pol, err := policy.Compile(config.Access{Users: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	app := &App{Name: "hr", Host: "hr.example.com", Prefix: "/", Plugin: "p", Auth: &countingAuth{}, Lifetime: time.Hour, Gate: gate, Policy: pol}
	admit := func(h http.Header) int {
		r := httptest.NewRequest("GET", "https://hr.example.com/x", nil)
		r.Header = h
		w := httptest.NewRecorder()
		app.Admit(w, r, "rid")
		return w.Code
	}
	if code := admit(http.Header{"X-Key": {"k"}}); code != http.StatusForbidden { // alice signs in, and is not bob
		t.Fatalf("alice: %d, want 403", code)
	}
	if code := admit(http.Header{"Accept": {"application/json"}}); code != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d, want 401", code)
	}
	want := `
# HELP gatehouse_signin_denials_total Refused sign-ins and requests, by reason.
# TYPE gatehouse_signin_denials_total counter
gatehouse_signin_denials_total{app="hr",reason="access.groups"} 1
gatehouse_signin_denials_total{app="hr",reason="no_credentials"} 1
# HELP gatehouse_signins_total Sign-in outcomes.
# TYPE gatehouse_signins_total counter
gatehouse_signins_total{app="hr",result="denied"} 1
gatehouse_signins_total{app="hr",result="no_credentials"} 1
gatehouse_signins_total{app="hr",result="signed_in"} 1
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "gatehouse_signins_total", "gatehouse_signin_denials_total"); err != nil {
		t.Error(err)
	}
}
