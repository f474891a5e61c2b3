package connector

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/fastpath"
	"github.com/gatehouse/gatehouse/tunnel"
)

// TestWildcardOutbound checks a wildcard app's backend URL template: the
// label of the request's host fills {label}, and a host that does not
// fill the wildcard with one valid label is refused.
func TestWildcardOutbound(t *testing.T) {
	a, err := newApp(tunnel.AppConfig{Name: "w", URL: "http://{label}.corp.local:8080/sites/{label}/", PathPrefix: "/", ExternalHost: "*.apps.test"}, fastpath.All)
	if err != nil {
		t.Fatal(err)
	}
	if a.lean != nil {
		t.Error("a template app has a lean client, whose backend address is fixed")
	}
	for host, want := range map[string]string{
		"a.apps.test":       "http://a.corp.local:8080/sites/a/x?q=1",
		"b-2.apps.test:443": "http://b-2.corp.local:8080/sites/b-2/x?q=1",
	} {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET /x?q=1 HTTP/1.1\r\nHost: " + host + "\r\n\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.label(req.Host); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		out := outbound(context.Background(), req, a)
		if got := out.URL.String(); got != want {
			t.Errorf("%s: backend URL %s, want %s", host, got, want)
		}
		if wantHost := out.URL.Host; out.Host != wantHost {
			t.Errorf("%s: Host %q, want %q", host, out.Host, wantHost)
		}
	}
	for _, host := range []string{"a.b.apps.test", "..apps.test", "%61.apps.test", "a_b.apps.test", "apps.test", "a.other.test", "-a.apps.test", ""} {
		if l, err := a.label(host); err == nil {
			t.Errorf("host %q accepted with label %q", host, l)
		}
	}
	if _, err := newApp(tunnel.AppConfig{Name: "x", URL: "http://{label}.corp.local/", ExternalHost: "x.apps.test"}, fastpath.All); err == nil {
		t.Error("a {label} template on an exact host was accepted")
	}
}
