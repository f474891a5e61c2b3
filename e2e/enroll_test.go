package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/pki"
	"github.com/gatehouse/gatehouse/tunnel"
)

// TestEnrollment covers the one-time token: a good token enrolls a
// connector that serves; the same token again, an expired one, a forged
// one and a damaged one are refused with a message that says why; a token
// whose CA pin does not match the gateway is not even sent; and an
// enrolled connector restarts from its state directory alone.
func TestEnrollment(t *testing.T) {
	t.Parallel()
	be := newBackend(t)
	g := newGateway(t, oneApp(be.URL))
	// Created before the gateway runs: its sweep (every 10 s by default)
	// deletes expired tokens, which would change the refusal (see
	// TestExpiredTokenIsReportedAsExpired).
	expired := g.token("default", "1ms")
	created := time.Now() // after the command took its own "now"
	eventually(t, "the token's 1 ms lifetime to pass", func() bool { return time.Since(created) > time.Millisecond })
	g.start()
	c := g.client(false)

	// refused runs a connector that must fail to enroll and returns its output.
	refused := func(t *testing.T, token string) string {
		t.Helper()
		p := startConnector(t, "refused-connector", filepath.Join(t.TempDir(), "state"), "--token", token)
		if code := p.wait(t); code == 0 {
			t.Fatalf("the connector exited 0; output:\n%s", p.log.String())
		}
		if p.log.Count("tunnel ready") > 0 {
			t.Fatalf("the refused connector opened a tunnel:\n%s", p.log.String())
		}
		return p.log.String()
	}
	requireOutput := func(t *testing.T, out, want string) {
		t.Helper()
		if !strings.Contains(out, want) {
			t.Fatalf("connector output does not contain %q:\n%s", want, out)
		}
	}

	t.Run("expired token", func(t *testing.T) {
		requireOutput(t, refused(t, expired), "expired")
	})
	t.Run("garbage token", func(t *testing.T) {
		requireOutput(t, refused(t, "hello-i-am-a-token"), "not a Gatehouse enrollment token")
	})

	good := g.token("default", "1h")
	goodTok, err := tunnel.ParseToken(good)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("forged secret", func(t *testing.T) {
		forged := goodTok
		forged.Secret = randomHex(24)
		requireOutput(t, refused(t, forged.Encode()), "not recognised")
		g.log().waitLines(t, "the refusal logged", 1, "enrollment refused", "token_id="+goodTok.ID)
	})

	// Not a subtest: this connector lives until the end of the test.
	first := startConnector(t, "connector", filepath.Join(t.TempDir(), "state"), "--token", good)
	first.waitReady(t, 2)
	waitServing(t, c, "https://app.localhost/hit")
	g.log().waitLines(t, "the enrollment logged", 1, "connector enrolled", "token_id="+goodTok.ID)

	t.Run("token used twice", func(t *testing.T) {
		requireOutput(t, refused(t, good), "already used")
	})

	t.Run("CA pin mismatch", func(t *testing.T) {
		tok, err := tunnel.ParseToken(g.token("default", "1h"))
		if err != nil {
			t.Fatal(err)
		}
		other, _, _, err := pki.NewCA("some other gateway", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		wrongPin := tok
		wrongPin.CAPin = tunnel.Fingerprint(other.Cert)
		requireOutput(t, refused(t, wrongPin.Encode()), "does not match")
		// The token's secret was never sent: the gateway saw no
		// enrollment with it, and the token still works.
		if l := g.log().lines(tok.ID); len(l) > 0 {
			t.Fatalf("the gateway saw token %s although the pin did not match:\n%s", tok.ID, strings.Join(l, "\n"))
		}
		p := startConnector(t, "connector-2", filepath.Join(t.TempDir(), "state"), "--token", tok.Encode())
		p.waitReady(t, 2)
	})

	t.Run("restart from state only", func(t *testing.T) {
		id := first.id(t)
		first.signal(t, syscall.SIGTERM)
		first.wait(t)
		ready := len(g.log().lines("connector session ready", "connector="+id))
		again := startConnector(t, "connector-again", first.state) // no --token
		again.waitReady(t, 2)
		if again.log.Count("msg=enrolled") > 0 {
			t.Fatalf("the restarted connector enrolled again:\n%s", again.log.String())
		}
		g.log().waitLines(t, "the gateway to attach the same connector id again", ready+2, "connector session ready", "connector="+id)
		waitServing(t, c, "https://app.localhost/hit") // no other connector is left
		if !connectedTo(t, again.pid(), be.Port) {
			t.Fatal("the restarted connector did not relay the request")
		}
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
