package proxy

import (
	"crypto/tls"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httphead"
)

// The route table carries HSTS: a host gets the longest max-age of its
// apps, on HTTPS only, on every answer (an error page too); a host
// without HSTS, or an unknown one, gets none.
func TestHSTSFromRouteTable(t *testing.T) {
	table := NewTable(1, []Route{
		{App: "a", Group: "g", Host: "hr.example.com", Prefix: "/", HSTS: 300},
		{App: "b", Group: "g", Host: "hr.example.com", Prefix: "/b", HSTS: 600},
		{App: "c", Group: "g", Host: "wiki.example.com", Prefix: "/"},
	})
	d := &fakeDialer{ids: []string{"x"}, connectors: map[string]fakeConnector{"x": ok}}
	h := NewHandler(func() *Table { return table }, d, slog.New(slog.DiscardHandler))
	for _, c := range []struct {
		host, path string
		tls        bool
		want       string
	}{
		{"hr.example.com", "/", true, "max-age=600"},
		{"hr.example.com:8443", "/b/x", true, "max-age=600"},
		{"hr.example.com", "/.gatehouse/none", true, "max-age=600"},
		{"hr.example.com", "/", false, ""},
		{"wiki.example.com", "/", true, ""},
		{"other.example.com", "/", true, ""},
	} {
		r := httptest.NewRequest("GET", "http://"+c.host+c.path, nil)
		if c.tls {
			r.TLS = &tls.ConnectionState{ServerName: httphead.HostName(c.host)}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Strict-Transport-Security"); got != c.want {
			t.Errorf("%s%s tls=%v: Strict-Transport-Security %q, want %q (status %d)", c.host, c.path, c.tls, got, c.want, w.Code)
		}
	}
	if !table.Published("hr.example.com:443") || table.Published("other.example.com") {
		t.Error("Published disagrees with the table")
	}
}
