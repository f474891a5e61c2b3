package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestErrorPages checks the gateway's own answers: 404 for a host no app
// is published at, 503 when an app's connector group has no connector,
// 502 when the connector cannot reach the backend. Each carries a request
// id in X-Request-Id and in the body, and the failures are logged with it.
func TestErrorPages(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	cfg := oneApp(be.URL)
	cfg.Groups = append(cfg.Groups, "empty")
	cfg.Apps = append(cfg.Apps,
		appConf{Name: "orphan", Host: "orphan.localhost", Group: "empty", URL: be.URL},
		appConf{Name: "down", Host: "down.localhost", Group: "default", URL: "http://" + freeAddr(t)},
	)
	g := startGateway(t, cfg)
	enrollConnector(t, g, "connector", "default")
	c := g.client(false)
	waitServing(t, c, "https://app.localhost/hit")

	t.Run("unknown host is 404", func(t *testing.T) {
		requireErrorPage(t, get(t, c, "https://nowhere.localhost/x"), http.StatusNotFound, "No such app")
	})
	t.Run("group without connector is 503", func(t *testing.T) {
		rid := requireErrorPage(t, get(t, c, "https://orphan.localhost/x"), http.StatusServiceUnavailable, "App unavailable")
		g.log().waitLines(t, "the 503 logged with its request id", 1, "request failed", "request_id="+rid, "status=503")
	})
	t.Run("backend down is 502 for POST", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, "https://down.localhost/upload", strings.NewReader("x"))
		r, err := do(t, c, req)
		if err != nil {
			t.Fatal(err)
		}
		rid := requireErrorPage(t, r, http.StatusBadGateway, "App not answering")
		g.log().waitLines(t, "the 502 logged with its request id", 1, "request failed", "request_id="+rid, "status=502")
	})
	// A GET is retried on another connector of the group; when there is
	// none left, the answer must still say the backend is down (502), not
	// that the tunnel is (503).
	t.Run("backend down is 502 for GET", func(t *testing.T) {
		requireErrorPage(t, get(t, c, "https://down.localhost/hit"), http.StatusBadGateway, "App not answering")
	})
}
