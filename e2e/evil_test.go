package e2e

import (
	"net/http"
	"testing"
)

// TestEvilConnector: a connector with a valid identity that answers
// requests with garbage, or sends a control frame claiming 4 GiB, costs
// the gateway one stream or one session, never the process.
func TestEvilConnector(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	cfg := oneApp(be.URL)
	cfg.Groups = append(cfg.Groups, "evil")
	cfg.Apps = append(cfg.Apps, appConf{Name: "evil", Host: "evil.localhost", Group: "evil", URL: be.URL})
	g := startGateway(t, cfg)
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")
	alive := func(t *testing.T) {
		t.Helper()
		g.proc.requireAlive(t)
		if r := get(t, c, "https://app.localhost/hit"); r.Status != http.StatusOK {
			t.Fatalf("the good app: %d %s", r.Status, r.Body)
		}
	}

	t.Run("garbage answer is 502", func(t *testing.T) {
		e := dialEvil(t, g, "evil", true)
		served := e.answerWith([]byte("\x00\xffTHIS IS NOT HTTP\r\n\r\n\x13\x37"))
		rid := requireErrorPage(t, get(t, c, "https://evil.localhost/x"), http.StatusBadGateway, "App not answering")
		g.log().waitLines(t, "the failure logged with its request id", 1, "request failed", "request_id="+rid, "status=502")
		if served.get() == 0 {
			t.Fatal("the evil connector got no request: the 502 came from elsewhere")
		}
		alive(t)
	})
	t.Run("4 GiB control frame closes the session", func(t *testing.T) {
		e := dialEvil(t, g, "evil", true)
		e.writeRaw([]byte{0xff, 0xff, 0xff, 0xff, '{', '"'})
		requireSessionClosed(t, e)
		g.log().waitLines(t, "the bad frame logged", 1, "control stream failed", "frame larger than 1 MiB", "connector="+e.id)
		alive(t)
	})
	t.Run("4 GiB hello closes the session", func(t *testing.T) {
		e := dialEvil(t, g, "evil", false)
		e.writeRaw([]byte{0xff, 0xff, 0xff, 0xff})
		requireSessionClosed(t, e)
		g.log().waitLines(t, "the bad hello logged", 1, "expected hello", "frame larger than 1 MiB", "connector="+e.id)
		alive(t)
	})
}

func requireSessionClosed(t testing.TB, e *evilConnector) {
	t.Helper()
	eventually(t, "the gateway to close the evil session", e.mux.IsClosed)
}
