package proxy

import (
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/signin"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/tunnel"
)

// guard admits every request with a fixed admission.
type guard struct{ adm signin.Admission }

func (g guard) Admit(http.ResponseWriter, *http.Request, string) (signin.Admission, bool) {
	return g.adm, true
}

// An app's filters see the signed-in user in the gateway's own headers
// (never the client's copy); the connector sees none of them.
func TestFiltersSeeIdentityConnectorDoesNot(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	id := sdk.Identity{Subject: "alice", Email: "alice@example.com", Groups: []string{"staff", "hr"}}
	env, err := tunnel.SignEnvelope(priv, tunnel.Envelope{App: "app", Expires: time.Now().Add(time.Hour), Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	var filterSaw http.Header
	route := Route{App: "app", Group: "g", Host: "demo.example.com", Prefix: "/", Guard: guard{signin.Admission{Identity: id, Envelope: env}},
		Filters: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				filterSaw = r.Header.Clone()
				next.ServeHTTP(w, r)
			})
		}}
	d := &fakeDialer{ids: []string{"a"}, connectors: map[string]fakeConnector{"a": ok}}
	table := NewTable(1, []Route{route})
	srv := httptest.NewServer(NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Host = "demo.example.com"
	req.Header.Set("X-Gatehouse-User", "mallory") // a client's forgery
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	for k, want := range map[string]string{"X-Gatehouse-User": "alice", "X-Gatehouse-Email": "alice@example.com", "X-Gatehouse-Groups": "staff,hr"} {
		if got := filterSaw.Get(k); got != want {
			t.Errorf("the filter saw %s = %q, want %q", k, got, want)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) != 1 {
		t.Fatalf("connector saw %d requests", len(d.seen))
	}
	for k := range d.seen[0].header {
		if len(k) > len("X-Gatehouse-") && k[:len("X-Gatehouse-")] == "X-Gatehouse-" {
			t.Errorf("the connector got %s", k)
		}
	}
	if string(d.seen[0].hdr.Envelope) != string(env) {
		t.Error("the envelope did not travel in the tunnel header")
	}
}
